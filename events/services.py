"""Event hooks: create (secret shown once), update/re-enable, delete; emit events; deliver.

Delivering is bounded: each delivery is attempted at most COREGIT_EVENT_MAX_ATTEMPTS times with
exponential backoff, and a hook whose last COREGIT_EVENT_DISABLE_AFTER attempts all failed is
disabled (visibly, with a reason) until someone enables it again.
"""

from __future__ import annotations

import base64
import logging
import random
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Organization
from core.errors import BadRequest, CoregitError
from core.ids import new_id
from core.netguard import check_url
from events import dispatch, sender
from events.models import EVENT_TYPES, EventDelivery, EventHook
from observability import series

logger = logging.getLogger(__name__)
# A task's countdown starts after the due time was recorded; this covers clocks of other machines.
DUE_TOLERANCE = timedelta(seconds=5)


def _check_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if not events or unknown:
        problem = f"unknown event types {unknown}" if unknown else "at least one event is needed"
        raise BadRequest(f"Invalid request: events: {problem}; known: {', '.join(EVENT_TYPES)}",
                         details={"events": [problem]})
    return list(dict.fromkeys(events))


def new_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def event_hook_create(*, org: Organization, url: str, events: list[str],
                      description: str = "") -> tuple[EventHook, str]:
    """The new hook and its secret (the only time the secret leaves the database)."""
    check_url(url)  # the same guard as provider hosts
    hook = EventHook(org=org, url=url, events=_check_events(events), description=description)
    secret = new_secret()
    hook.set_secret("secret_ciphertext", secret)
    hook.save(force_insert=True)
    return hook, secret


def event_hook_update(*, hook: EventHook, **changes) -> EventHook:
    """PATCH: url, events, description, and ``disabled: false`` to enable it again."""
    if "url" in changes:
        check_url(changes["url"])
    if "events" in changes:
        changes["events"] = _check_events(changes["events"])
    if changes.get("disabled") is False:
        changes.update(disabled_reason="", consecutive_failures=0)
    elif changes.get("disabled") is True:
        changes["disabled_reason"] = "Disabled by the API"
    for key, value in changes.items():
        setattr(hook, key, value)
    hook.save(update_fields=[*changes, "updated_at"])  # never rewrite the secret's ciphertext
    return hook


def event_hook_delete(*, hook: EventHook) -> None:
    hook.delete()


# --- emitting -----------------------------------------------------------------------------------
def event_emit(*, org_id: str, event_type: str, data: dict) -> list[EventDelivery]:
    """Record one delivery per enabled hook of the org subscribed to ``event_type``, and publish
    them. Never raises: an event that cannot be recorded must not break what emitted it."""
    try:
        return _emit(org_id, event_type, data)
    except Exception:  # noqa: BLE001 - see the docstring
        logger.warning("could not emit event %s", event_type, exc_info=True)
        return []


def event_emit_on_commit(*, org_id: str, event_type: str, data: dict) -> None:
    transaction.on_commit(lambda: event_emit(org_id=org_id, event_type=event_type, data=data))


def _emit(org_id: str, event_type: str, data: dict) -> list[EventDelivery]:
    assert event_type in EVENT_TYPES, event_type
    hooks = [h for h in EventHook.objects.filter(org_id=org_id, disabled=False)
             if event_type in h.events]
    if not hooks:
        return []
    now = timezone.now()
    payload = {"type": event_type, "timestamp": now.isoformat().replace("+00:00", "Z"),
               "data": data}
    deliveries = [EventDelivery.objects.create(hook=h, event_type=event_type,
                                               message_id=new_id("msg"), payload=payload)
                  for h in hooks]
    for delivery in deliveries:
        publish_delivery(delivery.pk)
    return deliveries


def publish_delivery(delivery_id: str) -> bool:
    try:
        dispatch.publish_event_delivery(delivery_id)
    except Exception:  # noqa: BLE001 - the row stays pending; the reaper publishes it again
        logger.warning("could not publish event delivery %s", delivery_id, exc_info=True)
        return False
    return True


# --- delivering ---------------------------------------------------------------------------------
def event_delivery_attempt(*, delivery_id: str) -> float | None:
    """Make one attempt; returns the countdown before the next one, or None when done.

    The attempt is claimed first by a conditional update (pending, due, no live claim, attempts
    left), so a task message published twice (the reaper, a redelivered message) never sends
    one delivery twice at once, nor earlier than its backoff."""
    delivery = EventDelivery.objects.select_related("hook").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != EventDelivery.Status.PENDING:
        return None
    hook = delivery.hook
    if hook.disabled:
        unclaimed_deliveries(delivery_id).update(status=EventDelivery.Status.FAILED,
                                                 error="The hook is disabled")
        return None
    token = _claim(delivery_id)
    if token is None:
        return None
    delivery.refresh_from_db(fields=["attempt"])
    try:
        result = sender.send(url=hook.url, secret=hook.get_secret("secret_ciphertext"),
                             message_id=delivery.message_id, payload=delivery.payload)
    except CoregitError as exc:  # e.g. a secret that no longer decrypts: a failed attempt
        result = sender.SendResult(False, None, 0, exc.message[:500])
    outcome = {"response_code": result.response_code, "duration_ms": result.duration_ms,
               "error": result.error, "last_attempt_at": timezone.now()}
    countdown = None
    if result.ok:
        EventHook.objects.filter(pk=hook.pk).update(consecutive_failures=0)
        outcome["status"] = EventDelivery.Status.SUCCEEDED
    elif _count_failure(hook) or delivery.attempt >= settings.COREGIT_EVENT_MAX_ATTEMPTS:
        outcome["status"] = EventDelivery.Status.FAILED
    else:
        countdown = backoff(delivery.attempt)
        outcome["next_attempt_at"] = timezone.now() + timedelta(seconds=countdown)
    # Counted before the row says so: whoever sees the outcome recorded also sees it counted.
    series.event_delivery_attempted(event=delivery.event_type,
                                    result=str(outcome.get("status", "retrying")))
    EventDelivery.objects.filter(pk=delivery_id, claim=token).update(
        claim="", claimed_at=None, **outcome)
    return countdown


def unclaimed_deliveries(delivery_id: str | None = None):
    """Pending deliveries no attempt holds (or whose claim is older than the lease)."""
    lease = timezone.now() - timedelta(seconds=settings.COREGIT_EVENT_CLAIM_SECONDS)
    rows = EventDelivery.objects.filter(status=EventDelivery.Status.PENDING).filter(
        Q(claim="") | Q(claimed_at__lt=lease))
    return rows if delivery_id is None else rows.filter(pk=delivery_id)


def _claim(delivery_id: str) -> str | None:
    """Take the next attempt of a due delivery; the token, or None when it is not ours to make.
    Counting the attempt here bounds deliveries whose worker dies mid-send too."""
    token = secrets.token_hex(8)
    now = timezone.now()
    claimed = unclaimed_deliveries(delivery_id).filter(
        next_attempt_at__lte=now + DUE_TOLERANCE,
        attempt__lt=settings.COREGIT_EVENT_MAX_ATTEMPTS,
    ).update(claim=token, claimed_at=now, attempt=F("attempt") + 1)
    return token if claimed else None


def _count_failure(hook: EventHook) -> bool:
    """Count one failed attempt on ``hook``; disable it after a run of them. Returns disabled."""
    limit = settings.COREGIT_EVENT_DISABLE_AFTER
    with transaction.atomic():
        EventHook.objects.filter(pk=hook.pk).update(consecutive_failures=F("consecutive_failures")
                                                    + 1)
        current = EventHook.objects.select_for_update().get(pk=hook.pk)
        if current.consecutive_failures >= limit and not current.disabled:
            current.disabled = True
            current.disabled_reason = (f"Disabled after {current.consecutive_failures} "
                                       "consecutive failed deliveries")
            current.save(update_fields=["disabled", "disabled_reason", "updated_at"])
            logger.warning("event hook %s disabled after %s failures", hook.pk,
                           current.consecutive_failures)
        return current.disabled


def backoff(attempt: int) -> float:
    """Exponential backoff with jitter: base, 2×base, 4×base… capped at an hour."""
    base = min(3600.0, settings.COREGIT_EVENT_RETRY_BASE_SECONDS * 2 ** (attempt - 1))
    return random.uniform(base / 2, base)  # noqa: S311 - jitter, not security


def event_delivery_redeliver(*, delivery: EventDelivery) -> EventDelivery:
    """Send a recorded delivery again: a new row, the same webhook-id and payload (receivers
    de-duplicate on webhook-id). Refused while the hook is disabled."""
    if delivery.hook.disabled:
        raise BadRequest("The hook is disabled; enable it (PATCH disabled: false) first")
    again = EventDelivery.objects.create(
        hook=delivery.hook, event_type=delivery.event_type, message_id=delivery.message_id,
        payload=delivery.payload, redelivery_of=delivery.pk)
    transaction.on_commit(lambda: publish_delivery(again.pk))
    return again
