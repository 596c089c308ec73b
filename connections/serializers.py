"""Response shapes of the connection and git-credential endpoints."""

from rest_framework import serializers

from connections.models import Connection
from core.responses import list_shape


class ConnectionSerializer(serializers.Serializer):
    id = serializers.CharField()
    provider = serializers.ChoiceField(choices=Connection.Provider.values)
    label = serializers.CharField()
    external_username = serializers.CharField(allow_blank=True)
    host = serializers.CharField(allow_null=True, help_text="Self-hosted base URL; null for cloud.")
    method = serializers.ChoiceField(choices=Connection.Method.values)
    version = serializers.IntegerField(help_text="Incremented on every credential change.")
    credentials_hash = serializers.CharField(
        help_text="A keyed hash that changes with the credentials; not reversible.")
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "Connection"


class ConnectionListedSerializer(ConnectionSerializer):
    last_synced_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()

    class Meta:
        ref_name = "ConnectionListed"


ConnectionListSerializer = list_shape("ConnectionList", "connections", ConnectionListedSerializer)


class ConnectionTestResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    username = serializers.CharField(required=False, help_text="When `valid` is true.")
    error = serializers.CharField(required=False,
                                  help_text="When `valid` is false: the provider's reason.")

    class Meta:
        ref_name = "ConnectionTestResult"


class GitCredentialSerializer(serializers.Serializer):
    id = serializers.CharField()
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "GitCredential"
