"""Signal receivers: post-push export, and webhook removal when a connection is deleted."""

from django.dispatch import receiver

from connections.signals import connection_deleting
from repos.signals import branch_pushed
from sync import hooks
from sync.auto import sync_export_after_push


@receiver(connection_deleting)
def _remove_hooks(sender, connection, **kwargs) -> None:
    for config in connection.sync_configs.all():
        hooks.remove(config)


@receiver(branch_pushed)
def _export_after_push(sender, repository, ref, old_sha, new_sha, **kwargs) -> None:
    sync_export_after_push(repository=repository, ref=ref, new_sha=new_sha)
