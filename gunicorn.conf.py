"""gunicorn settings, read from the working directory (``make run``; Docker's WORKDIR /app)."""

# gunicorn's maximum (its default 4094 answers an HTML 414 before Django sees the request): the
# API caps what it reads itself (a cursor is at most 512 characters) and answers JSON 400.
limit_request_line = 8190


def post_worker_init(worker) -> None:
    """Cap the `wait: true` triggers this process holds at half its threads (sync/wait_slots.py),
    so webhook intake and /healthz always find a free thread."""
    from sync import wait_slots

    wait_slots.serving_threads(worker.cfg.threads)
    _warm_up()


def _warm_up() -> None:
    """Import the URL conf's views and the broker transport now, not inside the first requests
    (~0.2 s each, seen as the slowest answers of a webhook burst after a start). Nothing here
    connects: a broker that is down is found by the first publish, as before."""
    from django.urls import get_resolver

    from workers.celery import app

    get_resolver().url_patterns  # noqa: B018 (evaluated for its import side effect)
    app.amqp.producer_pool  # noqa: B018
