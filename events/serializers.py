"""Response shapes of /v1/event-hooks (the bodies themselves are built in events/bodies.py)."""

from rest_framework import serializers

from core.responses import list_shape
from events.models import EVENT_TYPES, EventDelivery


class EventHookSerializer(serializers.Serializer):
    id = serializers.CharField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES))
    description = serializers.CharField(allow_blank=True)
    disabled = serializers.BooleanField()
    disabled_reason = serializers.CharField(allow_null=True,
                                            help_text="Why the hook was disabled, or null.")
    consecutive_failures = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    class Meta:
        ref_name = "EventHook"


class EventHookCreatedSerializer(EventHookSerializer):
    secret = serializers.CharField(help_text="The `whsec_...` signing secret, shown only once.")

    class Meta:
        ref_name = "EventHookCreated"


EventHookListSerializer = list_shape("EventHookList", "event_hooks", EventHookSerializer)


class EventDeliverySerializer(serializers.Serializer):
    id = serializers.CharField()
    hook_id = serializers.CharField()
    event = serializers.ChoiceField(choices=EVENT_TYPES)
    webhook_id = serializers.CharField(help_text="The `webhook-id` header; kept on redelivery.")
    status = serializers.ChoiceField(choices=EventDelivery.Status.values)
    attempt = serializers.IntegerField()
    response_code = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    redelivery_of = serializers.CharField(allow_null=True)
    payload = serializers.JSONField(help_text="The Standard Webhooks payload that was sent.")
    created_at = serializers.DateTimeField()
    last_attempt_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "EventDelivery"


EventDeliveryListSerializer = list_shape("EventDeliveryList", "deliveries", EventDeliverySerializer,
                                         paged=True)
