"""Django signal handlers: post-push export; webhook removal when a connection or repo is deleted.

The deleting handlers return a list that fills with warnings once the deletion commits (a hook
the provider refused to remove); the deleting service passes them on to its response.
"""

from django.db.models.signals import pre_delete
from django.dispatch import receiver

from connections.signals import connection_deleting
from repos.signals import branch_pushed, repository_deleting
from sync import provider_hook_registration
from sync.auto import sync_export_after_push
from sync.config_services import sync_config_runs_cancel
from sync.models import SyncConfig


def _remove_after_commit(configs) -> list[str]:
    warnings: list[str] = []
    for config in configs:
        provider_hook_registration.remove_after_commit(
            provider_hook_registration.site_of(config), warnings)
    return warnings


@receiver(pre_delete, sender=SyncConfig)
def _end_unfinished_runs(sender, instance, **kwargs) -> None:
    """However a config goes (API, cascade from its connection, the admin), its runs stay in the
    history; the unfinished ones end there, so no worker or reaper acts on a config-less run."""
    sync_config_runs_cancel(config=instance)


@receiver(connection_deleting)
def _remove_hooks(sender, connection, **kwargs) -> list[str]:
    return _remove_after_commit(connection.sync_configs.select_related("connection"))


@receiver(repository_deleting)
def _remove_repository_hooks(sender, repository, **kwargs) -> list[str]:
    return _remove_after_commit(
        SyncConfig.objects.select_related("connection").filter(repository=repository))


@receiver(branch_pushed)
def _export_after_push(sender, repository, ref, old_sha, new_sha, **kwargs) -> None:
    sync_export_after_push(repository=repository, ref=ref, new_sha=new_sha)
