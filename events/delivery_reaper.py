"""Re-publishing event deliveries whose task message was lost (Celery beat, periodically).

A delivery recorded while the broker was unreachable (or whose message vanished with a broker
that lost its data) has no task anywhere: it would stay ``pending`` forever. Every pending
delivery carries when its next attempt is due; one overdue by COREGIT_EVENT_REAP_AFTER_SECONDS,
and not held by a live attempt, is published again. Taking it is a conditional update on the due
time, so two reapers never publish one delivery twice in a tick; sending is claimed separately
(``events.services``), so a message that was only late, not lost, still sends it once. The
attempts stay bounded by COREGIT_EVENT_MAX_ATTEMPTS (counted when claimed, so a delivery whose
worker died mid-send is not retried forever), and failures count towards disabling the hook.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from events.models import EventDelivery
from events.services import publish_delivery, unclaimed_deliveries

logger = logging.getLogger(__name__)
BATCH = 500  # per tick: a long outage's backlog drains over a few ticks, not in one burst


def event_deliveries_reap() -> dict:
    """Close deliveries whose last attempt was lost, publish overdue ones; returns the counts."""
    now = timezone.now()
    lost = unclaimed_deliveries().exclude(claim="").filter(
        attempt__gte=settings.COREGIT_EVENT_MAX_ATTEMPTS).update(
        status=EventDelivery.Status.FAILED, claim="", claimed_at=None,
        error="The last attempt was lost with its worker")
    overdue = (unclaimed_deliveries()
               .filter(next_attempt_at__lt=now - timedelta(
                   seconds=settings.COREGIT_EVENT_REAP_AFTER_SECONDS))
               .order_by("next_attempt_at").values_list("pk", "next_attempt_at")[:BATCH])
    published = 0
    for pk, due in overdue:
        # Taken by moving the due time: a concurrent reaper finds it changed and skips it.
        if not EventDelivery.objects.filter(pk=pk, next_attempt_at=due).update(
                next_attempt_at=now):
            continue
        if publish_delivery(pk):
            published += 1
            continue
        # The broker is away: due as before, so the next tick tries again. The rest wait for
        # that tick too, rather than each sitting through its own publish retries now.
        EventDelivery.objects.filter(pk=pk, next_attempt_at=now).update(next_attempt_at=due)
        break
    if lost or published:
        logger.info("event deliveries: %s republished, %s closed as lost", published, lost)
    return {"republished": published, "lost": lost}
