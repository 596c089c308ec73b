"""The webhook a generic git config offers: its ``webhook_url`` and a secret shown once.

Generic hosts (Gitea, Forgejo, Bitbucket, self-managed GitLab, ...) cannot have a hook registered
for them, so the user pastes the URL and secret into the host's settings. The secret is made (or
replaced) by ``sync_config_webhook_secret_rotate``: only its response ever holds it.
"""

from __future__ import annotations

from django.conf import settings

from core.errors import BadRequest
from sync.generic_host_signatures import new_secret
from sync.models import SyncConfig


def generic_webhook_url(config: SyncConfig) -> str:
    return f"{settings.COREGIT_PUBLIC_URL}/v1/sync-webhooks/git/{config.id}"


def sync_config_webhook_secret_rotate(*, config: SyncConfig) -> str:
    """A new webhook secret for a generic config; the previous one stops verifying at once."""
    if config.provider != SyncConfig.Provider.GIT:
        raise BadRequest("Only generic git configs take a pasted webhook secret; GitHub and "
                         "GitLab hooks are registered with auto_sync")
    secret = new_secret()
    config.set_secret("webhook_secret_ciphertext", secret)
    SyncConfig.objects.filter(pk=config.pk).update(
        webhook_secret_ciphertext=config.webhook_secret_ciphertext)
    return secret
