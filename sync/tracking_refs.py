"""Hidden tracking refs (``refs/sync/<config>/…``) go with their config, and with what it follows.

They only cache what the remote already sent (haves for the next fetch), so deleting them is
always safe; it happens after the transaction commits, and a failure is logged, never raised.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from repos.models import Repository
from sync.engine import tracking
from sync.models import SyncConfig

logger = logging.getLogger(__name__)


def tracking_refs_forget(*, config: SyncConfig) -> None:
    """Delete ``config``'s tracking refs once the current transaction commits."""
    try:
        path = config.repository.disk_path
    except Repository.DoesNotExist:
        return  # the repository goes too, with its files
    prefix = config.tracking_ref.rsplit(b"/", 1)[0] + b"/"
    transaction.on_commit(lambda: _delete(path, prefix))


def _delete(path, prefix: bytes) -> None:
    try:
        tracking.delete_refs(path, prefix)
    except Exception:  # best effort: a stale ref costs one non-incremental fetch, nothing more
        logger.exception("could not delete the tracking refs %s in %s", prefix.decode(), path)


@receiver(post_delete, sender=SyncConfig)
def _forget_deleted_config(sender, instance: SyncConfig, **kwargs) -> None:
    tracking_refs_forget(config=instance)
