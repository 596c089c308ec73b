"""gunicorn settings, read from the working directory (``make run``; Docker's WORKDIR /app)."""

# gunicorn's maximum (its default 4094 answers an HTML 414 before Django sees the request): the
# API caps what it reads itself (a cursor is at most 512 characters) and answers JSON 400.
limit_request_line = 8190


def post_worker_init(worker) -> None:
    """Cap the `wait: true` triggers this process holds at half its threads (sync/wait_slots.py),
    so webhook intake and /healthz always find a free thread."""
    from sync import wait_slots

    wait_slots.serving_threads(worker.cfg.threads)
