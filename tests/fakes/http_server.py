"""Serve a provider fake over real HTTP on 127.0.0.1 (benchmarks; clients in another process).

    with serve_fake(lambda host: FakeGitHub(root, host=host)) as (fake, host): ...

The fake sees the same request shape as under ``responses`` (method, full URL, headers, body),
so every route, limit and refusal behaves the same. Chunked request bodies are decoded here.
"""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

from requests.structures import CaseInsensitiveDict


def _read_chunked(rfile) -> bytes:
    parts = []
    while True:
        size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        parts.append(rfile.read(size))
        rfile.readline()


def _handler(fake, host: str):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                body = _read_chunked(self.rfile)
            else:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            request = SimpleNamespace(method=self.command, url=host + self.path,
                                      headers=CaseInsensitiveDict(self.headers.items()),
                                      body=body or None)
            result = fake.dispatch(request)
            if isinstance(result, Exception):  # an injected dropped connection
                self.close_connection = True
                return
            status, headers, payload = result
            payload = payload if isinstance(payload, bytes) else str(payload).encode()
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, *args) -> None:  # quiet
            return

    return Handler


@contextlib.contextmanager
def serve_fake(make_fake):
    """Start a server on a free port, build the fake for its address, serve until exit."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    host = f"http://127.0.0.1:{server.server_address[1]}"
    fake = make_fake(host)
    server.RequestHandlerClass = _handler(fake, host)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, host
    finally:
        server.shutdown()
        server.server_close()
        fake.close()
