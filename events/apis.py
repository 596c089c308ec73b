"""/v1/event-hooks: master key only (a scoped key gets 403, another org's hook 404)."""

from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsMasterKey
from core.pagination import paginate, parse_limit
from events import selectors, services
from events.bodies import delivery_body, hook_body
from events.models import EVENT_TYPES


class _EventsField(serializers.ListField):
    child = serializers.ChoiceField(choices=EVENT_TYPES)

    def __init__(self, **kwargs):
        super().__init__(allow_empty=False, max_length=len(EVENT_TYPES), **kwargs)


class EventHookListCreateApi(APIView):
    permission_classes = [IsMasterKey]

    class InputSerializer(serializers.Serializer):
        url = serializers.CharField(max_length=2048, trim_whitespace=False)
        events = _EventsField()
        description = serializers.CharField(max_length=500, required=False, allow_blank=True,
                                            default="")

    def get(self, request):
        hooks = selectors.event_hook_list(org=request.user.org)
        return Response({"event_hooks": [hook_body(h) for h in hooks]})

    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        hook, secret = services.event_hook_create(org=request.user.org, **data.validated_data)
        return Response(hook_body(hook, secret=secret), status=201)


class EventHookDetailApi(APIView):
    permission_classes = [IsMasterKey]

    class UpdateSerializer(serializers.Serializer):
        url = serializers.CharField(max_length=2048, required=False, trim_whitespace=False)
        events = _EventsField(required=False)
        description = serializers.CharField(max_length=500, required=False, allow_blank=True)
        disabled = serializers.BooleanField(required=False)

    def get(self, request, hook_id: str):
        return Response(hook_body(selectors.event_hook_get(org=request.user.org, hook_id=hook_id)))

    def patch(self, request, hook_id: str):
        hook = selectors.event_hook_get(org=request.user.org, hook_id=hook_id)
        data = self.UpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(hook_body(services.event_hook_update(hook=hook, **data.validated_data)))

    def delete(self, request, hook_id: str):
        services.event_hook_delete(
            hook=selectors.event_hook_get(org=request.user.org, hook_id=hook_id))
        return Response({"deleted": True})


class EventDeliveryListApi(APIView):
    permission_classes = [IsMasterKey]

    def get(self, request, hook_id: str):
        hook = selectors.event_hook_get(org=request.user.org, hook_id=hook_id)
        limit = parse_limit(request.query_params.get("limit"))
        rows, cursor = paginate(selectors.event_delivery_list(hook=hook), limit=limit,
                                cursor=request.query_params.get("cursor"))
        return Response({"deliveries": [delivery_body(d) for d in rows], "next_cursor": cursor})


class EventRedeliverApi(APIView):
    permission_classes = [IsMasterKey]

    def post(self, request, hook_id: str, delivery_id: str):
        hook = selectors.event_hook_get(org=request.user.org, hook_id=hook_id)
        delivery = selectors.event_delivery_get(hook=hook, delivery_id=delivery_id)
        again = services.event_delivery_redeliver(delivery=delivery)
        return Response(delivery_body(again), status=202)
