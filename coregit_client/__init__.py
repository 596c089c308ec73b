"""Python client for the Coregit Sync API: ``Client().sync.trigger("app", sync_id)``."""

from coregit_client.client import Client
from coregit_client.errors import (
    BadRequest,
    Conflict,
    CoregitError,
    Diverged,
    Forbidden,
    NotFound,
    ProviderError,
    SyncError,
    Unauthorized,
    Unreachable,
)
from coregit_client.models import (
    Connection,
    ConnectionTest,
    GitCredential,
    Repo,
    RunProgress,
    SyncConfig,
    SyncRun,
    TriggerResult,
)

__all__ = [
    "BadRequest", "Client", "Conflict", "Connection", "ConnectionTest", "CoregitError", "Diverged",
    "Forbidden", "GitCredential", "NotFound", "ProviderError", "Repo", "RunProgress", "SyncConfig",
    "SyncError", "SyncRun", "TriggerResult", "Unauthorized", "Unreachable",
]
