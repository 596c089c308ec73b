from django.contrib import admin

from events.models import EventDelivery, EventHook


@admin.register(EventHook)
class EventHookAdmin(admin.ModelAdmin):
    """The signing secret never appears: only its ciphertext exists, and it is not shown."""

    list_display = ("id", "org", "url", "disabled", "consecutive_failures", "created_at")
    list_filter = ("disabled",)
    search_fields = ("id", "url", "org__slug")
    exclude = ("secret_ciphertext",)
    # The URL only changes through the API, which puts it through the URL guard.
    readonly_fields = ("id", "org", "url", "consecutive_failures", "created_at", "updated_at")

    def has_add_permission(self, request) -> bool:
        return False  # hooks are made by POST /v1/event-hooks, which shows the secret once


@admin.register(EventDelivery)
class EventDeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "hook", "event_type", "status", "attempt", "response_code",
                    "duration_ms", "created_at")
    list_filter = ("status", "event_type")
    search_fields = ("id", "hook__id", "message_id")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
