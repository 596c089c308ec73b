from django.contrib import admin, messages

from connections.models import Connection, GitCredential
from connections.services import connection_test

# Secret columns never reach the admin: they are neither listed nor in any form.
_CONNECTION_FIELDS = ("id", "org", "provider", "method", "label", "host", "external_username",
                      "app_id", "installation_id", "version", "credentials_hash",
                      "cached_token_expires_at", "last_synced_at", "created_at", "updated_at")


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = ("label", "provider", "method", "host", "external_username", "org",
                    "version", "last_synced_at")
    list_filter = ("provider", "method")
    search_fields = ("label", "external_username", "id", "org__slug")
    fields = _CONNECTION_FIELDS
    readonly_fields = tuple(f for f in _CONNECTION_FIELDS if f != "label")
    actions = ["test_connections"]

    def has_add_permission(self, request) -> bool:
        return False  # created through the API, which validates the token first

    @admin.action(description="Test connection")
    def test_connections(self, request, queryset):
        for conn in queryset:
            result = connection_test(connection=conn)
            if result["valid"]:
                self.message_user(request, f"{conn.label}: valid ({result['username']})",
                                  messages.SUCCESS)
            else:
                self.message_user(request, f"{conn.label}: {result['error']}", messages.ERROR)


@admin.register(GitCredential)
class GitCredentialAdmin(admin.ModelAdmin):
    list_display = ("id", "repository", "username", "org", "created_at", "updated_at")
    search_fields = ("id", "repository__slug", "org__slug")
    fields = ("id", "org", "repository", "username", "created_at", "updated_at")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False
