"""Response bodies for event hooks and their deliveries. The secret appears only on create."""

from core.fmt import iso
from events.models import EventDelivery, EventHook


def hook_body(hook: EventHook, *, secret: str | None = None) -> dict:
    body = {
        "id": hook.id,
        "url": hook.url,
        "events": hook.events,
        "description": hook.description,
        "disabled": hook.disabled,
        "disabled_reason": hook.disabled_reason or None,
        "consecutive_failures": hook.consecutive_failures,
        "created_at": iso(hook.created_at),
        "updated_at": iso(hook.updated_at),
    }
    if secret is not None:
        body["secret"] = secret
    return body


def delivery_body(delivery: EventDelivery) -> dict:
    return {
        "id": delivery.id,
        "hook_id": delivery.hook_id,
        "event": delivery.event_type,
        "webhook_id": delivery.message_id,
        "status": delivery.status,
        "attempt": delivery.attempt,
        "response_code": delivery.response_code,
        "duration_ms": delivery.duration_ms,
        "error": delivery.error or None,
        "redelivery_of": delivery.redelivery_of or None,
        "payload": delivery.payload,
        "created_at": iso(delivery.created_at),
        "last_attempt_at": iso(delivery.last_attempt_at),
    }
