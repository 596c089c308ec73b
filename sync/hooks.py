"""Provider webhook registration for import auto-sync (best effort on removal)."""

from __future__ import annotations

from sync.models import SyncConfig


def wants_hook(config: SyncConfig) -> bool:
    return (config.auto_sync and config.direction == "import"
            and config.provider in ("github", "gitlab"))


def reconcile(config: SyncConfig, *, old_remote: str | None = None) -> None:
    """Make the provider's webhook match the config (registered, moved or removed)."""
    return None


def remove(config: SyncConfig) -> None:
    return None
