from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsMasterKey
from connections import selectors, services
from connections.clients import Credentials
from connections.models import Connection
from connections.serializers import (
    ConnectionListSerializer,
    ConnectionSerializer,
    ConnectionTestResultSerializer,
)
from core.fmt import iso
from core.responses import DeletedSerializer, UpdatedSerializer, errors
from core.serializers import (
    NAME_MAX,
    PEM_MAX,
    SECRET_MAX,
    StrictCharField,
    StrictChoiceField,
    StrictSerializer,
)

CREATE_RULES = (
    "Fields required per `method`: `token` (default) needs `access_token`; `github_app` needs "
    "`provider: github`, `app_id`, `installation_id` and `private_key` (PEM). `host` is the web "
    "base URL of a GitHub Enterprise Server or self-managed GitLab (`https://...`, no path). "
    "The credentials are validated against the provider first: rejected → 400 with the "
    "provider's reason, provider unreachable → 502; nothing is stored in either case."
)


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

    class InputSerializer(StrictSerializer):
        provider = StrictChoiceField(choices=Connection.Provider.values)
        label = StrictCharField(max_length=NAME_MAX)
        method = StrictChoiceField(choices=Connection.Method.values, default="token")
        access_token = StrictCharField(max_length=SECRET_MAX, required=False,
                                       help_text="Required when `method` is `token`.")
        host = StrictCharField(max_length=255, required=False, allow_blank=True, default="",
                               regex=r"^(https?://[^/?#\s]+/?)?$")
        app_id = StrictCharField(max_length=32, required=False, regex=r"^[0-9]+$",
                                 help_text="Required when `method` is `github_app`.")
        installation_id = StrictCharField(max_length=32, required=False, regex=r"^[0-9]+$",
                                          help_text="Required when `method` is `github_app`.")
        private_key = StrictCharField(max_length=PEM_MAX, required=False, trim_whitespace=False,
                                      help_text="PEM; required when `method` is `github_app`.")

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

    @extend_schema(summary="List connections", responses={200: ConnectionListSerializer})
    def get(self, request):
        conns = selectors.connection_list(org=request.user.org)
        return Response({"connections": [connection_body(c, listing=True) for c in conns]})

    @extend_schema(summary="Create a connection (master key only)", description=CREATE_RULES,
                   responses={201: ConnectionSerializer, **errors(403, 502)})
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

    class InputSerializer(StrictSerializer):
        label = StrictCharField(max_length=NAME_MAX, required=False)
        access_token = StrictCharField(max_length=SECRET_MAX, required=False,
                                       help_text="Token connections only; re-validated.")
        private_key = StrictCharField(max_length=PEM_MAX, required=False, trim_whitespace=False,
                                      help_text="`github_app` connections only; re-validated.")

    @extend_schema(summary="Update a connection (master key only)",
                   description="Only `label` and the credential can change; any other field "
                               "(`provider`, `host`, `method`...) is refused with 400.",
                   responses={200: UpdatedSerializer, **errors(403, 404, 502)})
    def patch(self, request, connection_id: str):
        conn = selectors.connection_get(org=request.user.org, connection_id=connection_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.connection_update(connection=conn, **data.validated_data)
        return Response({"updated": True})

    @extend_schema(summary="Delete a connection and its sync configs (master key only)",
                   responses={200: DeletedSerializer, **errors(403, 404)})
    def delete(self, request, connection_id: str):
        conn = selectors.connection_get(org=request.user.org, connection_id=connection_id)
        warnings = services.connection_delete(connection=conn)
        return Response({"deleted": True, **({"warnings": warnings} if warnings else {})})


class ConnectionTestApi(APIView):
    @extend_schema(summary="Validate a connection's stored credentials", request=None,
                   responses={200: ConnectionTestResultSerializer, **errors(404)})
    def post(self, request, connection_id: str):
        conn = selectors.connection_get(org=request.user.org, connection_id=connection_id)
        return Response(services.connection_test(connection=conn))
