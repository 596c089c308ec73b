from django.db.models import QuerySet

from accounts.models import Organization
from core.errors import NotFound
from events.models import EventDelivery, EventHook


def event_hook_list(*, org: Organization) -> QuerySet[EventHook]:
    return EventHook.objects.filter(org=org).order_by("-created_at", "-id")


def event_hook_get(*, org: Organization, hook_id: str) -> EventHook:
    hook = EventHook.objects.filter(org=org, id=hook_id).first()
    if hook is None:
        raise NotFound("Event hook not found")
    return hook


def event_delivery_list(*, hook: EventHook) -> QuerySet[EventDelivery]:
    return EventDelivery.objects.filter(hook=hook)


def event_delivery_get(*, hook: EventHook, delivery_id: str) -> EventDelivery:
    delivery = EventDelivery.objects.filter(hook=hook, id=delivery_id).first()
    if delivery is None:
        raise NotFound("Delivery not found")
    return delivery
