"""A task executed by a real Celery worker over the real broker."""

import time
import uuid

import pytest

from core.models import Heartbeat
from workers.celery import app
from workers.tasks import ping

pytestmark = pytest.mark.django_db(transaction=True)


def test_real_worker_consumes_task_from_broker(live_worker):
    assert app.conf.broker_url.startswith(("redis://", "filesystem://"))
    token = uuid.uuid4().hex
    ping.delay(token)
    deadline = time.monotonic() + 600
    while not Heartbeat.objects.filter(token=token).exists():
        assert time.monotonic() < deadline, "the worker never ran the task"
        time.sleep(0.05)
    assert Heartbeat.objects.get(token=token).token == token
