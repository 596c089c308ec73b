"""Response shapes shared by every operation of the OpenAPI document (the error body and the
small acknowledgements), and ``errors()`` to declare which error statuses an operation answers."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

ERROR_MEANINGS = {
    400: "Bad input: malformed JSON, a field that breaks the schema, a NUL byte, an invalid "
         "query parameter. Nothing was changed.",
    401: "No API key, or an invalid one (send `x-api-key` or `Authorization: Bearer`).",
    403: "The API key lacks the permission this action needs.",
    404: "Not found, or it belongs to another organization.",
    409: "Conflict with the current state.",
    413: "The request body is larger than the API accepts.",
    415: "The body is not `application/json`.",
    422: "The provider says the remote or branch does not exist or cannot be used.",
    500: "Internal error.",
    502: "The upstream provider failed or could not be reached.",
}


class ErrorSerializer(serializers.Serializer):
    """``{"error", "code", "details"?}``: every error the API answers."""

    error = serializers.CharField(help_text="A sentence for humans.")
    code = serializers.CharField(help_text="A stable machine-readable code, e.g. `request.invalid`.")
    details = serializers.DictField(
        required=False, child=serializers.JSONField(),
        help_text="Per-field errors (field name to a list of messages), when there are any.",
    )

    class Meta:
        ref_name = "Error"


class DeletedSerializer(serializers.Serializer):
    deleted = serializers.BooleanField()
    warnings = serializers.ListField(
        child=serializers.CharField(), required=False,
        help_text="Cleanup that could not be done (e.g. a provider webhook left registered); "
                  "the deletion itself succeeded.",
    )

    class Meta:
        ref_name = "Deleted"


class UpdatedSerializer(serializers.Serializer):
    updated = serializers.BooleanField()

    class Meta:
        ref_name = "Updated"


def response_shape(ref_name: str, **fields: serializers.Field) -> type[serializers.Serializer]:
    """A response serializer holding ``fields``, named ``ref_name`` in the OpenAPI document."""
    meta = type("Meta", (), {"ref_name": ref_name})
    return type(f"{ref_name}Serializer", (serializers.Serializer,), {**fields, "Meta": meta})


def list_shape(ref_name: str, key: str, item: type[serializers.Serializer], *,
               paged: bool = False) -> type[serializers.Serializer]:
    """``{key: [item, ...]}``, with ``next_cursor`` when the list comes in cursor pages."""
    fields: dict[str, serializers.Field] = {key: item(many=True)}
    if paged:
        fields["next_cursor"] = serializers.CharField(allow_null=True)
    return response_shape(ref_name, **fields)


def error_response(status: int, description: str | None = None) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description or ERROR_MEANINGS[status])


def errors(*statuses: int, **described: str) -> dict[int, OpenApiResponse]:
    """``errors(403, 404, e409="A repository with this slug exists")`` for ``extend_schema``."""
    out = {status: error_response(status) for status in statuses}
    for key, description in described.items():
        status = int(key.removeprefix("e"))
        out[status] = error_response(status, description)
    return out
