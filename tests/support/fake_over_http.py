"""A stateful provider fake (tests/fakes) served over real HTTP on 127.0.0.1.

The fakes answer in-process through `responses`; a server running in another process (`make run`)
reaches them through this bridge instead, as a GitHub Enterprise Server or self-managed GitLab
host. Requests are answered one at a time, since the fakes keep plain in-memory state.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

HOP_BY_HOP = {"connection", "content-length", "transfer-encoding", "keep-alive"}


def answer(fake, request: requests.PreparedRequest) -> tuple[int, dict, bytes]:
    """What the fake answers `request` with, as its `responses` callback would."""
    for method, regex, handler, name, git in fake._routes:
        if method == request.method and regex.match(request.url):
            status, headers, body = fake._callback(regex, handler, name, git)(request)
            return status, dict(headers), body.encode() if isinstance(body, str) else body
    return 404, {"Content-Type": "application/json"}, b'{"message": "Not Found"}'


class _Relay(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _relay(self) -> None:
        body = self._body()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        request = requests.Request(self.command, self.server.base + self.path, headers=headers,
                                   data=body or None).prepare()
        with self.server.lock:
            status, out_headers, payload = answer(self.server.fake, request)
        self.send_response(status)
        for name, value in out_headers.items():
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _relay

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


@contextlib.contextmanager
def fake_over_http(make_fake: Callable[[str], object]) -> Iterator[tuple[object, str]]:
    """`with fake_over_http(lambda host: FakeGitHub(tmp, host=host)) as (fake, host):`"""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Relay)
    server.daemon_threads = True
    server.base = f"http://127.0.0.1:{server.server_port}"
    server.lock = threading.Lock()
    server.fake = make_fake(server.base)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.fake, server.base
    finally:
        server.shutdown()
        server.server_close()
        server.fake.close()
