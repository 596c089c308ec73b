from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "sync"
    label = "sync"

    def ready(self) -> None:
        from sync import (
            signal_handlers,  # noqa: F401 - connects push and connection signals
            tracking_refs,  # noqa: F401 - tracking refs go with their config
        )
