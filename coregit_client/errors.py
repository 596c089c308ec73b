"""Typed errors: the ``code`` of an error body picks the class (the server's core/errors.py tree).

    try:
        client.sync.trigger("app", sync_id)
    except Diverged as exc:   # code "sync.diverged"
        ...
    except ProviderError:     # any "provider.*" code
        ...
"""

from __future__ import annotations


class CoregitError(Exception):
    """Any error answered by the API (``status``, ``code``, ``message``, ``details``)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 details: dict | None = None, run_id: str | None = None) -> None:
        super().__init__(message)
        self.message, self.status, self.code = message, status, code
        self.details, self.run_id = details, run_id

    def __str__(self) -> str:
        return f"{self.message} ({self.code or self.status})"


class Unreachable(CoregitError):
    """The server could not be reached (connection refused, DNS, timeout)."""


class BadRequest(CoregitError):
    pass


class UnsafeAddress(BadRequest):
    pass


class Unauthorized(CoregitError):
    pass


class Forbidden(CoregitError):
    pass


class NotFound(CoregitError):
    pass


class Conflict(CoregitError):
    pass


class ServerError(CoregitError):
    pass


class ProviderError(CoregitError):
    pass


class ProviderAuthError(ProviderError):
    pass


class ProviderNotFound(ProviderError):
    pass


class ProviderRejected(ProviderError):
    pass


class ProviderRateLimited(ProviderError):
    pass


class ProviderUnavailable(ProviderError):
    pass


class SyncError(CoregitError):
    """A sync run ended in error."""


class Diverged(SyncError, Conflict):
    pass


class RefConflict(SyncError, Conflict):
    pass


class WorkerLost(SyncError):
    pass


class Unrepresentable(SyncError, Conflict):
    pass


class ConfigDeleted(SyncError, Conflict):
    pass


CODES: dict[str, type[CoregitError]] = {
    "request.invalid": BadRequest,
    "request.unsafe_address": UnsafeAddress,
    "auth.unauthenticated": Unauthorized,
    "auth.forbidden": Forbidden,
    "resource.not_found": NotFound,
    "resource.conflict": Conflict,
    "provider.error": ProviderError,
    "provider.auth": ProviderAuthError,
    "provider.access_denied": ProviderAuthError,
    "provider.not_found": ProviderNotFound,
    "provider.remote_not_found": ProviderNotFound,
    "provider.ref_not_found": ProviderNotFound,
    "provider.rejected": ProviderRejected,
    "provider.rate_limited": ProviderRateLimited,
    "provider.unavailable": ProviderUnavailable,
    "sync.error": SyncError,
    "sync.diverged": Diverged,
    "sync.ref_conflict": RefConflict,
    "sync.worker_lost": WorkerLost,
    "sync.unrepresentable": Unrepresentable,
    "sync.config_deleted": ConfigDeleted,
}
PREFIXES: dict[str, type[CoregitError]] = {
    "provider.": ProviderError, "sync.": SyncError, "auth.": Unauthorized, "request.": BadRequest,
}
STATUSES: dict[int, type[CoregitError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict,
    422: ProviderError, 502: ProviderError, 503: ProviderUnavailable,
}


def error_class(code: str | None, status: int | None) -> type[CoregitError]:
    """The most specific class for ``code``; unknown codes fall back on their family, then status."""
    if code in CODES:
        return CODES[code]
    for prefix, cls in PREFIXES.items():
        if code and code.startswith(prefix):
            return cls
    if status in STATUSES:
        return STATUSES[status]
    return ServerError if status and status >= 500 else CoregitError


def error_from(status: int | None, body: object) -> CoregitError:
    """The typed error for an error response (or a failed run's ``code`` and ``message``)."""
    data = body if isinstance(body, dict) else {}
    code = data.get("code") or data.get("error_code") or None
    message = data.get("error") or data.get("message") or f"HTTP {status}"
    cls = error_class(code, status)
    return cls(str(message), status=status, code=code, details=data.get("details"),
               run_id=data.get("run_id"))
