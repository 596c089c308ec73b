"""The one place the events domain hands work to Celery."""

from __future__ import annotations


def publish_event_delivery(delivery_id: str) -> None:
    """Publish the task that sends ``delivery_id``; raises when the broker cannot be reached."""
    from workers.tasks import event_delivery_send

    event_delivery_send.delay(delivery_id)
