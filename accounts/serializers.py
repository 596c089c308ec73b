"""Input fields and response shapes of the key endpoints."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.keys import PERMISSIONS
from core.responses import list_shape

MAX_SCOPES = 100
SCOPE_PATTERN = r"^repos:(\*|[a-z0-9][a-z0-9-]{0,99}(/[a-z0-9][a-z0-9-]{0,99})?)$"


@extend_schema_field({
    "type": "object",
    "minProperties": 1,
    "maxProperties": MAX_SCOPES,
    "additionalProperties": {
        "type": "array", "minItems": 1, "maxItems": 2, "uniqueItems": True,
        "items": {"type": "string", "enum": list(PERMISSIONS)},
    },
    "example": {"repos:*": ["read"], "repos:team/app": ["read", "write"]},
    "description": "`repos:*` or `repos:[namespace/]slug` to `read` and/or `write` (write "
                   f"implies read); at most {MAX_SCOPES} entries. Names match `{SCOPE_PATTERN}`.",
})
class ScopesField(serializers.JSONField):
    """The shape is checked by ``accounts.keys.validate_scopes``; here only the size is capped."""

    def to_internal_value(self, data):
        if isinstance(data, dict) and len(data) > MAX_SCOPES:
            raise serializers.ValidationError(f"At most {MAX_SCOPES} scopes per key.")
        return data


class KeySerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The first characters of the key, to recognise it.")
    master = serializers.BooleanField()
    scopes = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "Key"


class KeyCreatedSerializer(KeySerializer):
    key = serializers.CharField(help_text="The raw key. Shown once, never again.")

    class Meta:
        ref_name = "KeyCreated"


KeyListSerializer = list_shape("KeyList", "keys", KeySerializer)
