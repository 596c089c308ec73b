"""A real ``git http-backend`` behind a tiny threaded CGI server on 127.0.0.1, for tests and bench.

The request body is de-chunked and gunzipped here (dulwich streams large pushes chunked), then
handed to the CGI with a Content-Length. Basic auth is enforced when a username is configured.
"""

from __future__ import annotations

import base64
import gzip
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

BACKEND = "/usr/lib/git-core/git-http-backend"
HOLD_AFTER_BYTES = 1 << 18


@dataclass
class ServerStats:
    requests: list[tuple[str, str, int]] = field(default_factory=list)  # method, path, bytes out
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bytes_sent(self, marker: str = "") -> int:
        return sum(n for _, path, n in self.requests if marker in path)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()


class Gate:
    """Holds one matching request at a chosen point until the test releases it (fault tests).

    ``before``: the request body was read, the CGI has not run (a push is not applied yet).
    ``after``: the CGI ran to the end (a push's refs are written) but no byte was answered yet.
    ``partial``: headers and half of the answer were sent (a fetch is cut mid-pack).
    """

    def __init__(self, method: str, path_suffix: str, point: str, body_contains: bytes) -> None:
        self.method, self.path_suffix, self.point = method, path_suffix, point
        self.body_contains = body_contains
        self.taken = False  # one request per gate
        self.aborted = False
        self.reached, self.released = threading.Event(), threading.Event()

    def matches(self, method: str, path: str, point: str, body_head: bytes) -> bool:
        return (not self.taken and point == self.point and method == self.method
                and urlsplit(path).path.endswith(self.path_suffix)
                and self.body_contains in body_head)

    def hold(self) -> bool:
        """Block until released; whether to go on serving the request (False: it was aborted)."""
        self.reached.set()
        self.released.wait()
        return not self.aborted

    def release(self) -> None:
        self.released.set()

    def abort(self) -> None:
        """Drop the held request: the rest is never served (as when its client died mid-way)."""
        self.aborted = True
        self.released.set()


@dataclass
class GitHttpServer:
    root: Path
    base_url: str
    username: str | None
    password: str | None
    stats: ServerStats
    gates: list[Gate] = field(default_factory=list)

    def gate(self, method: str, path_suffix: str, point: str, *, body_contains: bytes = b""
             ) -> Gate:
        """Hold the first request that matches (see ``Gate``) until ``release()``."""
        gate = Gate(method, path_suffix, point, body_contains)
        self.gates.append(gate)
        return gate

    def take_gate(self, method: str, path: str, point: str, body_head: bytes) -> Gate | None:
        with self.stats.lock:
            for gate in self.gates:
                if gate.matches(method, path, point, body_head):
                    gate.taken = True
                    return gate
        return None
    # When ``hold`` is set, a pack response (upload-pack) stops after HOLD_AFTER_BYTES until
    # ``release`` is set; ``holding`` tells the test it stopped. Lets a test see a fetch mid-way.
    hold: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"

    def create_repo(self, name: str, *, branch: str = "main") -> Path:
        path = self.root / name
        subprocess.run(
            ["git", "init", "-q", "--bare", f"--initial-branch={branch}", str(path)], check=True
        )
        return path


class _Handler(BaseHTTPRequestHandler):
    server_version = "test-git-http/1"
    config: GitHttpServer  # set on the subclass made per server

    def log_message(self, format: str, *args) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        if not self._authorized():
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with tempfile.TemporaryFile() as body:
            self._read_body(body)
            length = body.tell()
            body.seek(0)
            self._body_head = body.read(1 << 16)
            body.seek(0)
            gate = self.config.take_gate(self.command, self.path, "before", self._body_head)
            if gate is not None and not gate.hold():
                return
            try:
                self._run_cgi(body, length)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client was killed while a gate held its request

    def _authorized(self) -> bool:
        cfg = self.config
        if cfg.username is None:
            return True
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        expected = f"{cfg.username}:{cfg.password or ''}".encode()
        return base64.b64decode(header[6:]) == expected

    def _read_body(self, out) -> None:
        raw = tempfile.TemporaryFile()
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    break
                raw.write(self.rfile.read(size))
                self.rfile.readline()
        else:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                raw.write(chunk)
                remaining -= len(chunk)
        raw.seek(0)
        if self.headers.get("Content-Encoding", "").lower() in ("gzip", "x-gzip"):
            with gzip.GzipFile(fileobj=raw) as gz:
                shutil.copyfileobj(gz, out)
        else:
            shutil.copyfileobj(raw, out)
        raw.close()

    def _env(self, length: int) -> dict[str, str]:
        parts = urlsplit(self.path)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.config.root),
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_PROJECT_ROOT": str(self.config.root),
            "GIT_HTTP_EXPORT_ALL": "1", "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.receivepack", "GIT_CONFIG_VALUE_0": "true",
            "REQUEST_METHOD": self.command, "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query, "CONTENT_LENGTH": str(length),
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "REMOTE_ADDR": self.client_address[0], "REMOTE_USER": self.config.username or "anon",
            "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
        }
        if self.headers.get("Git-Protocol"):
            env["HTTP_GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        return env

    def _run_cgi(self, body, length: int) -> None:
        proc = subprocess.Popen(
            [BACKEND], stdin=body, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=self._env(length),
        )
        assert proc.stdout is not None
        status, headers = self._cgi_headers(proc.stdout)
        held = self._held_answer()
        out = proc.stdout
        if held is not None:
            out = tempfile.TemporaryFile()  # the whole answer, so the CGI finishes first
            shutil.copyfileobj(proc.stdout, out)
            proc.wait()
            out.seek(0)
            if held.point == "after" and not held.hold():
                return
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        if held is not None and held.point == "partial":
            out.seek(0, os.SEEK_END)
            half = out.tell() // 2
            out.seek(0)
            self.wfile.write(out.read(half))
            self.wfile.flush()
            if not held.hold():
                return
        sent = 0
        while chunk := out.read(1 << 16):
            self.wfile.write(chunk)
            sent += len(chunk)
            # After a few full side-band packets (each up to 64 KiB, after git's progress lines),
            # so the client surely holds some pack data while the response waits.
            if self.config.hold.is_set() and "git-upload-pack" in self.path \
                    and self.command == "POST" and sent >= HOLD_AFTER_BYTES \
                    and not self.config.holding.is_set():
                self.wfile.flush()
                self.config.holding.set()
                self.config.release.wait(300)
        proc.wait()
        with self.config.stats.lock:
            self.config.stats.requests.append((self.command, self.path, sent))

    @staticmethod
    def _cgi_headers(stdout) -> tuple[int, list[tuple[str, str]]]:
        status, headers = 200, []
        while True:
            line = stdout.readline().rstrip(b"\r\n")
            if not line:
                return status, headers
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            else:
                headers.append((name, value.strip()))

    def _held_answer(self) -> Gate | None:
        for point in ("after", "partial"):
            if gate := self.config.take_gate(self.command, self.path, point, self._body_head):
                return gate
        return None


@contextmanager
def serve_git(
    root: Path, *, username: str | None = None, password: str | None = None
) -> Iterator[GitHttpServer]:
    """Serve every repository under ``root`` at ``http://127.0.0.1:<port>/<name>``."""
    root.mkdir(parents=True, exist_ok=True)
    config = GitHttpServer(root, "", username, password, ServerStats())
    handler = type("Handler", (_Handler,), {"config": config})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    config.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield config
    finally:
        for gate in config.gates:
            gate.release()
        httpd.shutdown()
        httpd.server_close()
