"""Provider webhooks for import auto-sync: registered before, removed after the database change.

Moving a hook is never half done: the new hook is registered first (a failure there refuses the
change and keeps the old hook and config), and the old one is removed only once the change has
committed. Removal is best effort everywhere: a provider that refuses or cannot be reached never
blocks deleting a config, repository or connection; the failure becomes a warning.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from connections.clients import PROVIDER_NAMES, connection_client
from connections.models import Connection
from core.errors import (
    CoregitError,
    ProviderAuthError,
    ProviderNotFound,
    ProviderRejected,
    RemoteAccessDenied,
)
from sync.models import SyncConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HookSite:
    """Where a registered hook lives: enough to remove it after its config changed or went."""

    config_id: str
    connection: Connection | None
    provider: str
    remote: str
    branch: str
    webhook_id: int | None


def wants_hook(config: SyncConfig) -> bool:
    return (config.auto_sync and config.direction == "import"
            and config.provider in ("github", "gitlab") and config.connection_id is not None)


def hook_url(config: SyncConfig) -> str:
    return f"{settings.COREGIT_PUBLIC_URL}/v1/sync-webhooks/{config.provider}/{config.id}"


def site_of(config: SyncConfig) -> HookSite:
    return HookSite(config_id=config.id, connection=config.connection if config.connection_id
                    else None, provider=config.provider, remote=config.remote,
                    branch=config.branch, webhook_id=config.webhook_id)


def register(config: SyncConfig) -> None:
    """Create the hook on the provider and put its id and secret on ``config`` (not saved)."""
    secret = secrets.token_urlsafe(32)
    try:
        mirror = config.mode == SyncConfig.Mode.MIRROR
        hook = connection_client(config.connection).create_hook(  # mirror: refs checked on receipt
            config.remote, url=hook_url(config), secret=secret,
            branch="" if mirror else config.branch,
            **({"tags": True} if mirror and config.tags else {}),
        )
    except (ProviderAuthError, ProviderNotFound, ProviderRejected) as exc:
        # The provider answered and said no (e.g. the token may not manage hooks): the user's
        # to fix, not a provider failure.
        name = PROVIDER_NAMES.get(config.provider, config.provider)
        raise RemoteAccessDenied(f"{name} refused to register the push webhook on "
                                 f"{config.remote}: {exc.message}", status=exc.status) from None
    config.set_secret("webhook_secret_ciphertext", secret)
    config.webhook_id = hook.id


def forget(config: SyncConfig) -> None:
    config.webhook_id = None
    if config.provider != SyncConfig.Provider.GIT:  # a generic config's secret is the user's
        config.webhook_secret_ciphertext = ""


def same_hook_serves(old: HookSite, config: SyncConfig) -> bool:
    """Whether the registered hook still fits: same remote and credential (and, on GitLab, whose
    hooks filter by branch, the same branch)."""
    return (old.webhook_id is not None and old.remote == config.remote
            and old.connection is not None and old.connection.pk == config.connection_id
            and (old.provider != "gitlab" or old.branch == config.branch))


def delete_hook(site: HookSite) -> str | None:
    """Remove a hook, best effort: the warning to show when the provider refused or failed."""
    if site.webhook_id is None or site.connection is None:
        return None
    name = PROVIDER_NAMES.get(site.provider, site.provider)
    try:
        connection_client(site.connection).delete_hook(site.remote, site.webhook_id)
    except CoregitError as exc:
        # A provider failure, a credential that no longer decrypts, a URL the guard refuses:
        # this runs after the change committed, so it must never turn into a 500. Our errors'
        # messages carry no secrets by design.
        logger.warning("could not remove webhook %s of %s: %s", site.webhook_id, site.config_id,
                       exc.message)
        return f"Could not remove the webhook on {name}: {exc.message}"
    except Exception as exc:  # noqa: BLE001 - best effort; only the type is logged (no secrets)
        logger.warning("could not remove webhook %s of %s: unexpected %s", site.webhook_id,
                       site.config_id, type(exc).__name__)
        return f"Could not remove the webhook on {name}: an internal error occurred"
    return None


def remove_after_commit(site: HookSite, warnings: list[str] | None = None) -> None:
    """Once the surrounding transaction commits, remove the hook at ``site``. A failure goes to
    ``warnings`` when given (the config is gone), else to the surviving config's ``last_error``."""
    if site.webhook_id is None:
        return

    def remove() -> None:
        warning = delete_hook(site)
        if warning is None:
            return
        if warnings is not None:
            warnings.append(warning)
        else:
            SyncConfig.objects.filter(pk=site.config_id).update(last_error=warning)

    transaction.on_commit(remove)
