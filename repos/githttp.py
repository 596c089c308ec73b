"""Git smart HTTP (``info/refs``, ``git-upload-pack``, ``git-receive-pack``) served by dulwich.

Authentication is HTTP Basic with an API key as the password (``x-api-key`` and Bearer work too).
Output is spooled to a temporary file rather than memory so a large clone stays bounded, and the
``branch_pushed`` signal is sent only after the receive-pack handler has updated the refs.
"""

from __future__ import annotations

import base64
import gzip
import logging
import tempfile
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from dulwich.config import ConfigDict, StackedConfig
from dulwich.errors import HookError
from dulwich.protocol import ReceivableProtocol
from dulwich.server import DEFAULT_HANDLERS, Backend
from dulwich.web import ChunkReader

from accounts.authentication import principal_for_raw, raw_key_from_headers
from accounts.principal import Principal
from core.errors import NotFound
from repos import storage
from repos.models import Repository
from repos.receive_pack import CoregitReceivePackHandler, ReceiveProtocol
from repos.selectors import repository_get
from repos.signals import branch_pushed
from repos.validation import pushed_ref_error

logger = logging.getLogger(__name__)
SERVICES = {"git-upload-pack": "read", "git-receive-pack": "write"}
HIDDEN_PREFIX = (b"refs/sync/", b"refs/coregit/")  # sync tracking refs, mirror backup refs
_SPOOL_BYTES = 16 * 1024 * 1024
HANDLERS = {**DEFAULT_HANDLERS, b"git-receive-pack": CoregitReceivePackHandler}


class _PushCollector:
    """Stands in for dulwich's post-receive hook: records what the push updated."""

    def __init__(self) -> None:
        self.updates: list[tuple[bytes, bytes, bytes]] = []

    def execute(self, client_refs) -> None:
        self.updates.extend(client_refs)
        return None


class _RefGuard:
    """Stands in for dulwich's update hook: refuses names git would refuse, and Coregit's own
    hidden refs (clients may not write them)."""

    def execute(self, ref_name: bytes, old_sha: bytes, new_sha: bytes) -> tuple[bytes, bytes]:
        error = pushed_ref_error(ref_name)
        if error:
            raise HookError(error)
        if ref_name.startswith(HIDDEN_PREFIX):
            raise HookError(f"{ref_name.decode()} is reserved for Coregit Sync")
        return b"", b""


def _hide_reserved_refs(repo) -> None:
    """Sync tracking refs are ours: keep them out of the advertisement clients see."""
    all_refs = repo.get_refs
    repo.get_refs = lambda: {
        name: sha for name, sha in all_refs().items() if not name.startswith(HIDDEN_PREFIX)
    }


def _limit_push_size(repo, limit: int) -> None:
    """git's ``receive.maxInputSize`` for this request: a larger pack is refused while read."""
    stack = repo.get_config_stack

    def with_limit() -> StackedConfig:
        ours = ConfigDict()
        ours.set((b"receive",), b"maxInputSize", str(limit).encode())
        return StackedConfig([ours, *stack().backends])

    repo.get_config_stack = with_limit


class _OneRepoBackend(Backend):
    def __init__(self, repo) -> None:
        self.repo = repo

    def open_repository(self, path):
        return self.repo


def _text(status: int, message: str, **headers: str) -> HttpResponse:
    response = HttpResponse(message + "\n", status=status, content_type="text/plain")
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _unauthorized(message: str) -> HttpResponse:
    return _text(401, message, WWW_Authenticate='Basic realm="coregit"')


def _principal(request: HttpRequest) -> Principal | None:
    raw = raw_key_from_headers(request.headers)
    auth = request.headers.get("Authorization", "")
    if raw is None and auth[:6].lower() == "basic ":
        try:
            _, _, raw = base64.b64decode(auth[6:].strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raw = None
    return principal_for_raw(raw) if raw else None


def _request_body(request: HttpRequest):
    environ = request.META
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        stream = environ["wsgi.input"]
        # gunicorn hands us the de-chunked body; a plain WSGI server hands us the raw chunks.
        if not environ.get("SERVER_SOFTWARE", "").startswith("gunicorn"):
            stream = ChunkReader(stream)
    else:
        stream = request
    if environ.get("HTTP_CONTENT_ENCODING", "").lower() == "gzip":
        stream = gzip.GzipFile(fileobj=stream, mode="rb")
    return stream


def _stream(spool) -> Iterator[bytes]:
    try:
        spool.seek(0)
        while chunk := spool.read(64 * 1024):
            yield chunk
    finally:
        spool.close()


def _run_service(repo: Repository, service: str, *, advertise: bool, body=None):
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)
    collector = _PushCollector()
    read = body.read if body is not None else (lambda n=-1: b"")
    with storage.open_repo(repo.disk_path) as dulwich_repo:
        dulwich_repo.hooks["post-receive"] = collector
        dulwich_repo.hooks["update"] = _RefGuard()
        _hide_reserved_refs(dulwich_repo)
        _limit_push_size(dulwich_repo, settings.COREGIT_MAX_PUSH_BYTES)
        protocol = ReceiveProtocol if service == "git-receive-pack" else ReceivableProtocol
        proto = protocol(read, spool.write)
        handler = HANDLERS[service.encode()](
            _OneRepoBackend(dulwich_repo), [b"/"], proto, stateless_rpc=True,
            advertise_refs=advertise,
        )
        if advertise:
            proto.write_pkt_line(b"# service=" + service.encode() + b"\n")
            proto.write_pkt_line(None)
        handler.handle()
    return spool, collector.updates


def _emit_pushes(repo: Repository, updates) -> None:
    for old, new, ref in updates:
        if not ref.startswith((b"refs/heads/", b"refs/tags/")):  # tags: for mirror exports
            continue
        zero = storage.ZERO_SHA
        # The refs are written: a failing receiver must neither turn the push into a 500 nor
        # keep the other refs' receivers from hearing about them.
        results = branch_pushed.send_robust(
            sender=Repository, repository=repo, ref=ref.decode(),
            old_sha=None if old == zero else old.decode(),
            new_sha=None if new == zero else new.decode(),
        )
        for receiver, result in results:
            if isinstance(result, Exception):
                logger.error("branch_pushed receiver %r failed for %s", receiver, ref.decode(),
                             exc_info=result)


def _resolve(request, org: str, namespace: str, slug: str, service: str):
    """Return (repo, None) or (None, error response) following SPEC §2's 401/403/404 rules."""
    principal = _principal(request)
    if principal is None:
        return None, _unauthorized("Authentication required: use an API key as the password")
    if principal.org.slug != org:
        return None, _text(404, "Repository not found")
    try:
        repo = repository_get(org=principal.org, namespace=namespace, slug=slug)
    except NotFound:
        return None, _text(404, "Repository not found")
    if not principal.can(repo.full_path, "read"):
        return None, _text(404, "Repository not found")
    if not principal.can(repo.full_path, SERVICES[service]):
        return None, _text(403, f"This API key cannot push to {repo.full_path}")
    return repo, None


@csrf_exempt
def git_info_refs(request, org: str, slug: str, namespace: str = ""):
    service = request.GET.get("service", "")
    if service not in SERVICES:
        return _text(403, "Only the smart HTTP protocol is supported")
    repo, error = _resolve(request, org, namespace, slug, service)
    if error:
        return error
    spool, _ = _run_service(repo, service, advertise=True)
    response = StreamingHttpResponse(
        _stream(spool), content_type=f"application/x-{service}-advertisement"
    )
    response["Cache-Control"] = "no-cache, max-age=0, must-revalidate"
    return response


@csrf_exempt
def git_service(request, org: str, slug: str, service: str, namespace: str = ""):
    if request.method != "POST":
        return _text(405, "Method not allowed")
    if request.content_type != f"application/x-{service}-request":
        return _text(415, "Invalid Content-Type")
    repo, error = _resolve(request, org, namespace, slug, service)
    if error:
        return error
    spool, updates = _run_service(repo, service, advertise=False, body=_request_body(request))
    _emit_pushes(repo, updates)
    response = StreamingHttpResponse(_stream(spool), content_type=f"application/x-{service}-result")
    response["Cache-Control"] = "no-cache, max-age=0, must-revalidate"
    return response
