"""One error tree for the whole service.

Every error carries a stable ``code`` (stored on sync runs, returned in API bodies) and the HTTP
status the single DRF exception handler maps it to. Messages must never contain secrets.
"""

from __future__ import annotations


class CoregitError(Exception):
    code = "coregit.error"
    http_status = 500
    default_message = "Internal error"

    def __init__(self, message: str | None = None, *, details: dict | None = None) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)


class BadRequest(CoregitError):
    code = "request.invalid"
    http_status = 400
    default_message = "Invalid request"


class NotFound(CoregitError):
    code = "resource.not_found"
    http_status = 404
    default_message = "Not found"


class Forbidden(CoregitError):
    code = "auth.forbidden"
    http_status = 403
    default_message = "This API key does not have permission for this action"


class Conflict(CoregitError):
    code = "resource.conflict"
    http_status = 409
    default_message = "Conflict"


class LastMasterKey(Conflict):
    """Deleting this key would leave its organization without a master key."""

    code = "key.last_master"


class UnsafeAddress(BadRequest):
    """A user-supplied URL or host points somewhere we must not connect to."""

    code = "request.unsafe_address"


# --- provider errors --------------------------------------------------------------------------
class ProviderError(CoregitError):
    """The upstream provider failed; ``transient`` errors are retried by the task."""

    code = "provider.error"
    http_status = 502
    default_message = "The provider request failed"
    transient = False

    def __init__(
        self, message: str | None = None, *, status: int | None = None, details: dict | None = None
    ) -> None:
        super().__init__(message, details=details)
        self.status = status


class ProviderAuthError(ProviderError):
    code = "provider.auth"
    default_message = "The provider rejected the credentials"


class ProviderNotFound(ProviderError):
    code = "provider.not_found"
    default_message = "The provider has no such resource (or the token cannot see it)"


class ProviderRejected(ProviderError):
    """The provider refused the request for good (422, 409, 400): retrying will not help."""

    code = "provider.rejected"


class ProviderRateLimited(ProviderError):
    code = "provider.rate_limited"
    default_message = "The provider rate limit was hit"
    transient = True

    def __init__(self, message: str | None = None, *, retry_after: float, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = max(0.0, float(retry_after))


class ProviderUnavailable(ProviderError):
    code = "provider.unavailable"
    default_message = "The provider could not be reached"
    transient = True


# --- sync errors ------------------------------------------------------------------------------
class SyncError(CoregitError):
    code = "sync.error"
    http_status = 500


class Diverged(SyncError):
    code = "sync.diverged"
    http_status = 409
    default_message = "The branches have diverged"


class RefConflict(SyncError):
    """A compare-and-swap ref update lost a race (someone pushed meanwhile)."""

    code = "sync.ref_conflict"
    http_status = 409
    default_message = "The branch moved while the sync was running"
    transient = True  # a retry starts from the new ref value (or after the lock is released)


class WorkerLost(SyncError):
    code = "sync.worker_lost"
    default_message = "The worker running this sync stopped responding"


class Unrepresentable(SyncError):
    code = "sync.unrepresentable"
    http_status = 409


def _all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


def http_status_for_code(code: str) -> int:
    """The HTTP status of a stored error code (runs keep only the code and message)."""
    for cls in [CoregitError, *_all_subclasses(CoregitError)]:
        if cls.code == code:
            return cls.http_status
    return 500


# --- user errors about the remote (issue 12): the provider answered, the request named wrong ---
class RemoteNotFound(ProviderNotFound):
    """The remote repository does not exist, or the credential cannot see it."""

    code = "provider.remote_not_found"
    http_status = 422
    default_message = "The remote repository does not exist or the credential cannot see it"


class RefNotFound(ProviderNotFound):
    """The remote (or local) repository has no such branch."""

    code = "provider.ref_not_found"
    http_status = 422
    default_message = "The branch does not exist"


class RemoteAccessDenied(ProviderAuthError):
    """The credential can reach the remote but lacks the access the config needs."""

    code = "provider.access_denied"
    http_status = 422
    default_message = "The credential lacks the access this sync config needs"


class ConfigDeleted(SyncError):
    code = "sync.config_deleted"
    http_status = 409
    default_message = "The sync config was deleted before this run finished"
