from django.contrib import admin

from accounts.models import ApiKey, Organization


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "id", "created_at")
    search_fields = ("slug", "name", "id")
    readonly_fields = ("id", "created_at")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys show only their prefix and digest: the raw key is never stored."""

    list_display = ("prefix", "name", "org", "is_master", "created_at", "last_used_at")
    list_filter = ("is_master",)
    search_fields = ("prefix", "name", "org__slug")
    fields = ("id", "org", "name", "prefix", "key_hash", "is_master", "scopes", "created_at",
              "last_used_at")
    readonly_fields = ("id", "org", "prefix", "key_hash", "is_master", "created_at", "last_used_at")

    def has_add_permission(self, request) -> bool:
        return False  # keys are minted by create_org or POST /v1/keys, which show them once
