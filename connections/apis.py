from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsMasterKey
from connections import selectors, services
from connections.clients import Credentials
from connections.models import Connection
from core.fmt import iso


def connection_body(conn: Connection, *, listing: bool = False) -> dict:
    body = {
        "id": conn.id,
        "provider": conn.provider,
        "label": conn.label,
        "external_username": conn.external_username,
        "host": conn.host or None,
        "method": conn.method,
        "version": conn.version,
        "credentials_hash": conn.credentials_hash,
        "created_at": iso(conn.created_at),
    }
    if listing:
        body["last_synced_at"] = iso(conn.last_synced_at)
        body["updated_at"] = iso(conn.updated_at)
    return body


class ConnectionListCreateApi(APIView):
    def get_permissions(self):
        return [IsMasterKey()] if self.request.method == "POST" else super().get_permissions()

    class InputSerializer(serializers.Serializer):
        provider = serializers.ChoiceField(choices=Connection.Provider.values)
        label = serializers.CharField(max_length=200)
        method = serializers.ChoiceField(choices=Connection.Method.values, default="token")
        access_token = serializers.CharField(required=False, trim_whitespace=True)
        host = serializers.CharField(required=False, allow_blank=True, default="")
        app_id = serializers.CharField(required=False, max_length=32)
        installation_id = serializers.CharField(required=False, max_length=32)
        private_key = serializers.CharField(required=False, trim_whitespace=False)

        def validate(self, data):
            if data["method"] == "token" and not data.get("access_token"):
                raise serializers.ValidationError({"access_token": ["This field is required."]})
            if data["method"] == "github_app":
                if data["provider"] != "github":
                    raise serializers.ValidationError({"method": ["github_app needs github"]})
                missing = [f for f in ("app_id", "installation_id", "private_key")
                           if not data.get(f)]
                if missing:
                    raise serializers.ValidationError({f: ["This field is required."]
                                                       for f in missing})
            return data

    def get(self, request):
        conns = selectors.connection_list(org=request.user.org)
        return Response({"connections": [connection_body(c, listing=True) for c in conns]})

    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        label = fields.pop("label")
        conn = services.connection_create(
            org=request.user.org, creds=Credentials(**fields), label=label
        )
        return Response(connection_body(conn), status=201)


class ConnectionDetailApi(APIView):
    permission_classes = [IsMasterKey]

    class InputSerializer(serializers.Serializer):
        label = serializers.CharField(max_length=200, required=False)
        access_token = serializers.CharField(required=False)
        private_key = serializers.CharField(required=False, trim_whitespace=False)

    def patch(self, request, connection_id: str):
        conn = selectors.connection_get(org=request.user.org, connection_id=connection_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.connection_update(connection=conn, **data.validated_data)
        return Response({"updated": True})

    def delete(self, request, connection_id: str):
        conn = selectors.connection_get(org=request.user.org, connection_id=connection_id)
        warnings = services.connection_delete(connection=conn)
        return Response({"deleted": True, **({"warnings": warnings} if warnings else {})})


class ConnectionTestApi(APIView):
    def post(self, request, connection_id: str):
        conn = selectors.connection_get(org=request.user.org, connection_id=connection_id)
        return Response(services.connection_test(connection=conn))
