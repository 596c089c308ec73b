"""Git smart HTTP (protocol v0/v1, stateless RPC) served from a dulwich repo, for responses."""

from __future__ import annotations

import base64
import gzip
import subprocess
import threading
from io import BytesIO
from urllib.parse import parse_qs, urlsplit

from dulwich.protocol import ReceivableProtocol
from dulwich.server import DictBackend, ReceivePackHandler, UploadPackHandler


class CasReceivePackHandler(ReceivePackHandler):
    """dulwich's receive-pack reports "ok" when a ref's expected old value no longer matches
    (its compare-and-swap returns False, it only catches exceptions); git and the hosted
    providers answer "failed to update ref" and leave the ref alone, as this does."""

    def _apply_pack(self, refs):
        wanted = {ref: sha for _old, sha, ref in refs}
        for ref, status in super()._apply_pack(refs):
            now = self.repo.refs.as_dict().get(ref)  # None: deleted
            if ref in wanted and status == b"ok" and now != (
                    None if wanted[ref] == b"0" * 40 else wanted[ref]):
                status = b"failed to update ref"
            yield ref, status


HANDLERS = {"git-upload-pack": UploadPackHandler, "git-receive-pack": CasReceivePackHandler}
NO_CACHE = {"Expires": "Fri, 01 Jan 1980 00:00:00 GMT", "Pragma": "no-cache",
            "Cache-Control": "no-cache, max-age=0, must-revalidate"}


def basic_credentials(request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        user, sep, password = base64.b64decode(value).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def request_body(request) -> bytes:
    body = request.body
    if body is None:
        return b""
    if isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, bytes):  # generator / iterator: chunked upload
        body = b"".join(body)
    if request.headers.get("Content-Encoding", "").lower() == "gzip":
        body = gzip.decompress(body)
    return body


GIT_BINARY: str | None = None  # set (benchmarks): `git` itself answers, as hosted providers' do


def serve(repo, request, action: str):
    """Answer `info/refs`, `git-upload-pack` or `git-receive-pack` for `repo`.

    Returns (status, body, headers), the fakes' handler convention.
    """
    if GIT_BINARY is not None:
        return _serve_with_git(repo, request, action)
    backend = DictBackend({"/": repo})
    out = BytesIO()
    if action == "info/refs":
        service = parse_qs(urlsplit(request.url).query).get("service", [None])[0]
        if service not in HANDLERS:
            return 403, b"dumb protocol not supported\n", {"Content-Type": "text/plain"}
        proto = ReceivableProtocol(BytesIO().read, out.write)
        handler = HANDLERS[service](backend, ["/"], proto, stateless_rpc=True,
                                    advertise_refs=True)
        proto.write_pkt_line(b"# service=" + service.encode() + b"\n")
        proto.write_pkt_line(None)
        handler.handle()
        content_type = f"application/x-{service}-advertisement"
        return 200, out.getvalue(), {"Content-Type": content_type, **NO_CACHE}
    if action not in HANDLERS or request.method != "POST":
        return 404, b"Not Found\n", {"Content-Type": "text/plain"}
    if request.headers.get("Content-Type") != f"application/x-{action}-request":
        return 415, b"Unsupported Media Type\n", {"Content-Type": "text/plain"}
    proto = ReceivableProtocol(BytesIO(request_body(request)).read, out.write)
    HANDLERS[action](backend, ["/"], proto, stateless_rpc=True).handle()
    return 200, out.getvalue(), {"Content-Type": f"application/x-{action}-result", **NO_CACHE}


def _serve_with_git(repo, request, action: str):
    """The same exchange answered by ``git <service> --stateless-rpc`` on the bare repository
    (C speed for benchmarks of large pushes; refs still change by git's compare-and-swap)."""
    if action == "info/refs":
        service = parse_qs(urlsplit(request.url).query).get("service", [None])[0]
        if service not in HANDLERS:
            return 403, b"dumb protocol not supported\n", {"Content-Type": "text/plain"}
        out = subprocess.run([GIT_BINARY, service[4:], "--stateless-rpc", "--advertise-refs",
                              repo.path], capture_output=True, check=True).stdout
        line = b"# service=" + service.encode() + b"\n"
        head = b"%04x" % (len(line) + 4) + line + b"0000"
        return 200, head + out, {"Content-Type": f"application/x-{service}-advertisement",
                                 **NO_CACHE}
    if action not in HANDLERS or request.method != "POST":
        return 404, b"Not Found\n", {"Content-Type": "text/plain"}
    proc = subprocess.Popen([GIT_BINARY, action[4:], "--stateless-rpc", repo.path],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    body = request.body

    def feed() -> None:  # as the body arrives: git indexes the pack while it is received
        with proc.stdin:
            for part in [body or b""] if isinstance(body, bytes | None) else body:
                proc.stdin.write(part)

    writer = threading.Thread(target=feed)
    writer.start()
    out = proc.stdout.read()
    writer.join()
    proc.wait()
    return 200, out, {"Content-Type": f"application/x-{action}-result", **NO_CACHE}
