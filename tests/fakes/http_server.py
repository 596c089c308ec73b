"""Serve a provider fake over real HTTP on 127.0.0.1 (benchmarks; clients in another process).

    with serve_fake(lambda host: FakeGitHub(root, host=host)) as (fake, host): ...

``latency`` (seconds) is added to every answer, ``bandwidth`` (bytes a second) paces the reading
of request bodies, as a remote host would (benchmarks); ``stats`` counts requests and body bytes.

The fake sees the same request shape as under ``responses`` (method, full URL, headers, body),
so every route, limit and refusal behaves the same. Chunked request bodies are decoded here.
"""

from __future__ import annotations

import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

from requests.structures import CaseInsensitiveDict

BURST = 1 << 20


class Stats:
    """Requests answered and request-body bytes read, and the link's pacing."""

    def __init__(self, latency: float = 0.0, bandwidth: float | None = None) -> None:
        self.latency, self.bandwidth = latency, bandwidth
        self.requests = self.bytes_in = 0
        self.busy = 0.0  # seconds spent answering once a body was read (the fake's own work)
        self.first_read = self.last_read = 0.0  # when the first and the last body bytes came
        self._lock = threading.Lock()
        self._link_free = time.monotonic()

    def pace(self, n: int) -> None:
        """Wait as long as ``n`` more bytes take on the shared link at ``bandwidth``."""
        with self._lock:
            self.bytes_in += n
            if not self.bandwidth:
                return
            # A link idle for a moment carries up to BURST bytes of credit (socket buffers do),
            # so a sleep that oversleeps on a loaded machine does not slow the link down.
            idle_from = time.monotonic() - BURST / self.bandwidth
            self._link_free = max(self._link_free, idle_from) + n / self.bandwidth
            wait = self._link_free - time.monotonic()
        if wait > 0:
            time.sleep(wait)


def _read(rfile, n: int, stats: Stats) -> bytes:
    parts, left = [], n
    while left > 0:
        part = rfile.read(min(left, 1 << 20))
        if not part:
            break
        stats.pace(len(part))
        stats.last_read = time.monotonic()
        stats.first_read = stats.first_read or stats.last_read
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _iter_chunked(rfile, stats: Stats):
    while True:
        size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return
        yield _read(rfile, size, stats)
        rfile.readline()


def _read_chunked(rfile, stats: Stats) -> bytes:
    return b"".join(_iter_chunked(rfile, stats))


def _handler(fake, host: str, stats: Stats):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
            if chunked and self.path.endswith("/git-receive-pack"):
                body = _iter_chunked(self.rfile, stats)  # a push streams into the backend
            elif chunked:
                body = _read_chunked(self.rfile, stats)
            else:
                body = _read(self.rfile, int(self.headers.get("Content-Length") or 0), stats)
            read = time.monotonic()
            request = SimpleNamespace(method=self.command, url=host + self.path,
                                      headers=CaseInsensitiveDict(self.headers.items()),
                                      body=body or None)
            result = fake.dispatch(request)
            stats.requests += 1
            stats.busy += time.monotonic() - max(read, stats.last_read)
            time.sleep(stats.latency)  # the round trip a distant host adds to each request
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
def serve_fake(make_fake, *, stats: Stats | None = None):
    """Start a server on a free port, build the fake for its address, serve until exit."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    host = f"http://127.0.0.1:{server.server_address[1]}"
    fake = make_fake(host)
    server.RequestHandlerClass = _handler(fake, host, stats or Stats())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, host
    finally:
        server.shutdown()
        server.server_close()
        fake.close()
