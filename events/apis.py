"""/v1/event-hooks: master key only (a scoped key gets 403, another org's hook 404)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsMasterKey
from core.pagination import paginate
from core.responses import DeletedSerializer, errors
from core.serializers import StrictBooleanField, StrictCharField, StrictChoiceField, StrictSerializer
from events import selectors, services
from events.bodies import delivery_body, hook_body
from events.models import EVENT_TYPES
from events.serializers import (
    EventDeliveryListSerializer,
    EventDeliverySerializer,
    EventHookCreatedSerializer,
    EventHookListSerializer,
    EventHookSerializer,
)
from repos.apis import page_query
from repos.serializers import PageQuerySerializer

URL_MAX = 2048
DESCRIPTION_MAX = 500
URL_RULES = ("An `https://` URL (`http://` only where private hosts are allowed); hosts that "
             "resolve to private or loopback addresses are refused (400).")


class _EventsField(serializers.ListField):
    child = StrictChoiceField(choices=EVENT_TYPES)

    def __init__(self, **kwargs):
        super().__init__(allow_empty=False, max_length=len(EVENT_TYPES), **kwargs)


class EventHookListCreateApi(APIView):
    permission_classes = [IsMasterKey]

    class InputSerializer(StrictSerializer):
        url = StrictCharField(max_length=URL_MAX, trim_whitespace=False, help_text=URL_RULES)
        events = _EventsField()
        description = StrictCharField(max_length=DESCRIPTION_MAX, required=False,
                                      allow_blank=True, default="")

    @extend_schema(summary="List event hooks (master key only)",
                   responses={200: EventHookListSerializer, **errors(403)})
    def get(self, request):
        hooks = selectors.event_hook_list(org=request.user.org)
        return Response({"event_hooks": [hook_body(h) for h in hooks]})

    @extend_schema(summary="Create an event hook (master key only)", description=URL_RULES,
                   responses={201: EventHookCreatedSerializer, **errors(403)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        hook, secret = services.event_hook_create(org=request.user.org, **data.validated_data)
        return Response(hook_body(hook, secret=secret), status=201)


class EventHookDetailApi(APIView):
    permission_classes = [IsMasterKey]

    class UpdateSerializer(StrictSerializer):
        url = StrictCharField(max_length=URL_MAX, required=False, trim_whitespace=False,
                              help_text=URL_RULES)
        events = _EventsField(required=False)
        description = StrictCharField(max_length=DESCRIPTION_MAX, required=False,
                                      allow_blank=True)
        disabled = StrictBooleanField(required=False,
                                      help_text="`false` enables a disabled hook again.")

    @extend_schema(summary="Get an event hook (master key only)",
                   responses={200: EventHookSerializer, **errors(403, 404)})
    def get(self, request, hook_id: str):
        return Response(hook_body(selectors.event_hook_get(org=request.user.org, hook_id=hook_id)))

    @extend_schema(summary="Update an event hook (master key only)",
                   responses={200: EventHookSerializer, **errors(403, 404)})
    def patch(self, request, hook_id: str):
        hook = selectors.event_hook_get(org=request.user.org, hook_id=hook_id)
        data = self.UpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(hook_body(services.event_hook_update(hook=hook, **data.validated_data)))

    @extend_schema(summary="Delete an event hook (master key only)",
                   responses={200: DeletedSerializer, **errors(403, 404)})
    def delete(self, request, hook_id: str):
        services.event_hook_delete(
            hook=selectors.event_hook_get(org=request.user.org, hook_id=hook_id))
        return Response({"deleted": True})


class EventDeliveryListApi(APIView):
    permission_classes = [IsMasterKey]

    @extend_schema(summary="Deliveries of an event hook, newest first (master key only)",
                   parameters=[PageQuerySerializer],
                   responses={200: EventDeliveryListSerializer, **errors(403, 404)})
    def get(self, request, hook_id: str):
        hook = selectors.event_hook_get(org=request.user.org, hook_id=hook_id)
        query = page_query(request)
        rows, cursor = paginate(selectors.event_delivery_list(hook=hook), limit=query["limit"],
                                cursor=query.get("cursor"))
        return Response({"deliveries": [delivery_body(d) for d in rows], "next_cursor": cursor})


class EventRedeliverApi(APIView):
    permission_classes = [IsMasterKey]

    @extend_schema(
        summary="Send a delivery again (master key only)",
        request=None,
        responses={202: OpenApiResponse(EventDeliverySerializer,
                                        description="The new delivery, queued (same "
                                                    "`webhook_id` and payload)."),
                   **errors(403, 404, e400="The hook is disabled, or bad input.")},
    )
    def post(self, request, hook_id: str, delivery_id: str):
        hook = selectors.event_hook_get(org=request.user.org, hook_id=hook_id)
        delivery = selectors.event_delivery_get(hook=hook, delivery_id=delivery_id)
        again = services.event_delivery_redeliver(delivery=delivery)
        return Response(delivery_body(again), status=202)
