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
