"""Thin Celery tasks: ids in, one service call, no logic."""

from celery import shared_task


@shared_task(name="workers.ping")
def ping(token: str) -> str:
    """Round-trip check used by /healthz tooling and the broker test."""
    from core.services import ping_record

    return ping_record(token=token)
