"""Provider webhooks for import auto-sync.

Registration failures surface to the user (the config would silently not auto-sync otherwise);
removal is best effort: a provider failure there is recorded in ``last_error`` and never blocks
the change the user asked for.
"""

from __future__ import annotations

import logging
import secrets

from django.conf import settings

from connections.clients import connection_client
from core.errors import ProviderError
from sync.models import SyncConfig

logger = logging.getLogger(__name__)


def wants_hook(config: SyncConfig) -> bool:
    return (config.auto_sync and config.direction == "import"
            and config.provider in ("github", "gitlab") and config.connection_id is not None)


def hook_url(config: SyncConfig) -> str:
    return f"{settings.COREGIT_PUBLIC_URL}/v1/sync-webhooks/{config.provider}/{config.id}"


def _register(config: SyncConfig) -> None:
    secret = secrets.token_urlsafe(32)
    mirror = config.mode == SyncConfig.Mode.MIRROR
    hook = connection_client(config.connection).create_hook(  # mirror: patterns checked on receipt
        config.remote, url=hook_url(config), secret=secret, branch="" if mirror else config.branch,
        **({"tags": True} if mirror and config.tags else {}),
    )
    config.set_secret("webhook_secret_ciphertext", secret)
    config.webhook_id = hook.id
    config.save(update_fields=["webhook_id", "webhook_secret_ciphertext", "updated_at"])


def remove(config: SyncConfig, *, remote: str | None = None) -> None:
    """Delete the registered hook (best effort) and forget its id and secret."""
    if config.webhook_id is None:
        return
    try:
        if config.connection_id:
            connection_client(config.connection).delete_hook(remote or config.remote,
                                                              config.webhook_id)
    except ProviderError as exc:
        logger.warning("could not remove webhook %s of %s: %s", config.webhook_id, config.pk,
                       exc.message)
        config.last_error = f"Could not remove the provider webhook: {exc.message}"
    config.webhook_id = None
    config.webhook_secret_ciphertext = ""
    if config.pk and SyncConfig.objects.filter(pk=config.pk).exists():
        config.save(update_fields=["webhook_id", "webhook_secret_ciphertext", "last_error",
                                   "updated_at"])


def reconcile(config: SyncConfig, *, old_remote: str | None = None) -> None:
    """Make the provider side match the config: register, move (remove + register) or remove."""
    # Called on create, and on updates that change what the hook points at or whether it exists.
    if config.webhook_id is not None and (old_remote is not None or not wants_hook(config)):
        remove(config, remote=old_remote)
    if wants_hook(config) and config.webhook_id is None:
        _register(config)
