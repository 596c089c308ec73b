"""Issue 10 point 4: deliveries left unpublished by a broker outage are sent later by the beat
reaper, once, signed; attempts stay claimed so one delivery is never sent twice at once."""

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from events.delivery_reaper import event_deliveries_reap
from events.models import EventDelivery
from events.services import event_delivery_attempt, event_emit
from tests.events.test_event_deliveries import _hook, _until
from workers.tasks import reap_event_deliveries

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_delivery_recorded_during_a_broker_outage_is_sent_by_the_reaper(
        api, org, receiver, broker_down, live_worker):
    hook = _hook(api, receiver.url, ["sync.run.failed"])
    with broker_down():  # no broker: the delivery is recorded, its task message is not
        [made] = event_emit(org_id=org.id, event_type="sync.run.failed", data={"n": 1})
    row = EventDelivery.objects.get(pk=made.pk)
    assert (row.status, row.attempt) == ("pending", 0)

    # Not overdue yet: the reaper leaves it (its task may merely be late).
    with override_settings(COREGIT_EVENT_REAP_AFTER_SECONDS=3600):
        assert event_deliveries_reap() == {"republished": 0, "lost": 0}
    assert receiver.received == []

    # Overdue: the beat task, run by the real worker, publishes it; the worker sends it.
    assert settings.CELERY_BEAT_SCHEDULE["reap-event-deliveries"]["task"] == \
        reap_event_deliveries.name
    with override_settings(COREGIT_EVENT_REAP_AFTER_SECONDS=0):
        EventDelivery.objects.filter(pk=made.pk).update(
            next_attempt_at=timezone.now() - timedelta(seconds=1))
        reap_event_deliveries.delay()
        [received] = receiver.wait_for(1)
        done = _until(lambda: EventDelivery.objects.filter(pk=made.pk, status="succeeded").first())
    event = Webhook(hook["secret"]).verify(received.body, received.headers)
    assert event["type"] == "sync.run.failed" and event["data"] == {"n": 1}
    assert received.headers["webhook-id"] == made.message_id
    assert (done.attempt, done.response_code, done.claim) == (1, 204, "")
    # Sent: nothing is pending, so further ticks publish nothing.
    with override_settings(COREGIT_EVENT_REAP_AFTER_SECONDS=0):
        assert event_deliveries_reap() == {"republished": 0, "lost": 0}
    assert len(receiver.received) == 1


def test_concurrent_attempts_send_once_and_a_held_claim_is_left_alone(
        api, org, receiver, unconsumed_queue):
    _hook(api, receiver.url, ["sync.run.failed"])
    [made] = event_emit(org_id=org.id, event_type="sync.run.failed", data={"n": 2})
    # Its task waits in a queue no worker reads: four copies of the task run at once here.
    barrier = threading.Barrier(4)
    results = []

    def attempt():
        from django.db import connection

        try:
            barrier.wait(timeout=60)
            results.append(event_delivery_attempt(delivery_id=made.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert results == [None] * 4
    assert len(receiver.received) == 1  # every thread is done: exactly one was sent
    assert EventDelivery.objects.get(pk=made.pk).attempt == 1

    # A claim held by a live attempt: neither a task nor the reaper touches the delivery.
    [held] = event_emit(org_id=org.id, event_type="sync.run.failed", data={"n": 3})
    EventDelivery.objects.filter(pk=held.pk).update(
        claim="elsewhere", claimed_at=timezone.now(), attempt=1,
        next_attempt_at=timezone.now() - timedelta(hours=1))
    assert event_delivery_attempt(delivery_id=held.pk) is None
    with override_settings(COREGIT_EVENT_REAP_AFTER_SECONDS=0):
        assert event_deliveries_reap()["republished"] == 0
    assert len(receiver.received) == 1
    # The claim outlived its lease (its worker died mid-send) and no attempts are left: failed.
    with override_settings(COREGIT_EVENT_CLAIM_SECONDS=0, COREGIT_EVENT_MAX_ATTEMPTS=1):
        assert event_deliveries_reap()["lost"] == 1
    lost = EventDelivery.objects.get(pk=held.pk)
    assert (lost.status, lost.claim) == ("failed", "") and "lost" in lost.error


def test_a_tick_stops_publishing_at_the_first_broker_failure(
        api, org, receiver, broker_down, unconsumed_queue, monkeypatch):
    from events import delivery_reaper

    _hook(api, receiver.url, ["sync.run.failed"])
    with broker_down():
        made = [event_emit(org_id=org.id, event_type="sync.run.failed", data={"n": n})[0]
                for n in range(3)]
    overdue = timezone.now() - timedelta(hours=1)
    EventDelivery.objects.filter(pk__in=[d.pk for d in made]).update(next_attempt_at=overdue)
    tried = []

    def counting(pk):
        tried.append(pk)
        return publish(pk)

    publish = delivery_reaper.publish_delivery
    monkeypatch.setattr(delivery_reaper, "publish_delivery", counting)
    with broker_down():  # down for the whole tick: one publish is tried, not one per delivery
        assert event_deliveries_reap() == {"republished": 0, "lost": 0}
    assert len(tried) == 1
    # Every delivery keeps its due time, so the next tick (broker back) publishes them all.
    rows = EventDelivery.objects.filter(pk__in=[d.pk for d in made])
    assert {r.next_attempt_at for r in rows} == {overdue}
    assert event_deliveries_reap() == {"republished": 3, "lost": 0}
