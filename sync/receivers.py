"""Signal receivers: connection deletion removes the webhooks its sync configs registered."""

from django.dispatch import receiver

from connections.signals import connection_deleting
from sync import hooks


@receiver(connection_deleting)
def _remove_hooks(sender, connection, **kwargs) -> None:
    for config in connection.sync_configs.all():
        hooks.remove(config)
