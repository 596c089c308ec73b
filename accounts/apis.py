from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.permissions import IsMasterKey
from accounts.serializers import KeyCreatedSerializer, KeyListSerializer, ScopesField
from core.fmt import iso
from core.responses import DeletedSerializer, errors
from core.serializers import NAME_MAX, StrictCharField, StrictSerializer


def key_body(key) -> dict:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "master": key.is_master,
        "scopes": key.scopes,
        "created_at": iso(key.created_at),
        "last_used_at": iso(key.last_used_at),
    }


class KeyListCreateApi(APIView):
    permission_classes = [IsMasterKey]

    class InputSerializer(StrictSerializer):
        name = StrictCharField(max_length=NAME_MAX)
        scopes = ScopesField()

    @extend_schema(summary="List API keys (master key only)",
                   responses={200: KeyListSerializer, **errors(403)})
    def get(self, request):
        keys = selectors.api_key_list(org=request.user.org).order_by("-created_at")
        return Response({"keys": [key_body(k) for k in keys]})

    @extend_schema(summary="Create a scoped API key (master key only)",
                   responses={201: KeyCreatedSerializer, **errors(403)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key, raw = services.api_key_create(org=request.user.org, **data.validated_data)
        return Response({**key_body(key), "key": raw}, status=201)


class KeyDeleteApi(APIView):
    permission_classes = [IsMasterKey]

    @extend_schema(summary="Delete an API key (master key only)",
                   responses={200: DeletedSerializer, **errors(
                       403, 404, e409="`key.last_master`: the organization's last master key "
                                      "cannot be deleted.")})
    def delete(self, request, key_id: str):
        services.api_key_delete(org=request.user.org, key_id=key_id)
        return Response({"deleted": True})
