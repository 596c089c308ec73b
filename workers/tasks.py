"""Thin Celery tasks: ids in, one service call, no logic beyond choosing when to retry."""

from celery import shared_task


@shared_task(name="workers.ping")
def ping(token: str) -> str:
    """Round-trip check used by ``manage.py check_worker`` and the broker test."""
    from core.services import ping_record

    return ping_record(token=token)


@shared_task(name="workers.sync_run", bind=True, acks_late=True, reject_on_worker_lost=True,
             max_retries=None)
def sync_run(self, run_id: str) -> None:
    from sync.db_retry import DATABASE_DOWN
    from sync.run_services import Busy, RetryLater, busy_countdown, sync_run_execute

    try:
        sync_run_execute(run_id=run_id, worker=self.request.hostname or "")
    except Busy:
        # Another run of this repository is executing: queue behind it, looking less often.
        raise self.retry(countdown=busy_countdown(self.request.retries)) from None
    except RetryLater as later:
        raise self.retry(countdown=later.countdown) from None
    except DATABASE_DOWN:
        # The claim could not be made: keep the message (a new one) until the database is back.
        raise self.retry(countdown=busy_countdown(self.request.retries)) from None


@shared_task(name="workers.reap_sync_runs")
def reap_sync_runs() -> dict:
    from sync.run_reaper import sync_runs_reap

    return sync_runs_reap()


@shared_task(name="workers.poll_sync_configs")
def poll_sync_configs() -> int:
    from sync.auto import sync_poll_due

    return sync_poll_due()


@shared_task(name="workers.sweep_repository_temp_files")
def sweep_repository_temp_files() -> dict:
    from repos.tmp_sweep import repositories_temp_files_sweep

    return repositories_temp_files_sweep()


@shared_task(name="workers.event_delivery_send", bind=True, acks_late=True, max_retries=None)
def event_delivery_send(self, delivery_id: str) -> None:
    from events.services import event_delivery_attempt

    # The service bounds the attempts; a countdown means "try this delivery again later".
    countdown = event_delivery_attempt(delivery_id=delivery_id)
    if countdown is not None:
        raise self.retry(countdown=countdown)


@shared_task(name="workers.reap_event_deliveries")
def reap_event_deliveries() -> dict:
    from events.delivery_reaper import event_deliveries_reap

    return event_deliveries_reap()
