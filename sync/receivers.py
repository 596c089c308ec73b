"""Signal receivers: post-push export; webhook removal when a connection or repo is deleted."""

from django.dispatch import receiver

from connections.signals import connection_deleting
from repos.signals import branch_pushed, repository_deleting
from sync import hooks
from sync.auto import sync_export_after_push
from sync.models import SyncConfig


@receiver(connection_deleting)
def _remove_hooks(sender, connection, **kwargs) -> None:
    for config in connection.sync_configs.all():
        hooks.remove(config)


@receiver(repository_deleting)
def _remove_repository_hooks(sender, repository, **kwargs) -> None:
    config = SyncConfig.objects.select_related("connection").filter(repository=repository).first()
    if config is not None:
        hooks.remove(config)


@receiver(branch_pushed)
def _export_after_push(sender, repository, ref, old_sha, new_sha, **kwargs) -> None:
    sync_export_after_push(repository=repository, ref=ref, new_sha=new_sha)
