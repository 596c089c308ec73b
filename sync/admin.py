from django.contrib import admin, messages

from sync.models import SyncConfig, SyncRun, WebhookDelivery
from sync.run_services import sync_run_request


@admin.register(SyncConfig)
class SyncConfigAdmin(admin.ModelAdmin):
    list_display = ("repository", "provider", "remote", "branch", "direction", "auto_sync",
                    "auto_sync_paused", "last_synced_at", "last_error")
    list_filter = ("provider", "direction", "auto_sync", "auto_sync_paused")
    search_fields = ("remote", "repository__slug", "id")
    exclude = ("webhook_secret_ciphertext",)
    readonly_fields = ("id", "org", "repository", "connection", "provider", "webhook_id",
                       "consecutive_failures", "last_error", "last_synced_at", "created_at",
                       "updated_at")
    actions = ["sync_now"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Sync now")
    def sync_now(self, request, queryset):
        for config in queryset:
            run = sync_run_request(config=config, trigger=SyncRun.Trigger.API)
            self.message_user(request, f"{config.repository}: run {run.id} queued", messages.INFO)


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SyncRun)
class SyncRunAdmin(_ReadOnly):
    list_display = ("id", "repository", "status", "trigger", "direction", "branch",
                    "files_changed", "deleted", "created_at", "completed_at")
    list_filter = ("status", "trigger", "direction", "error_code")
    search_fields = ("id", "repository__slug", "remote_sha", "commit_sha")
    date_hierarchy = "created_at"


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(_ReadOnly):
    list_display = ("delivery_id", "provider", "event", "config", "outcome", "run",
                    "received_at")
    list_filter = ("provider", "event", "outcome")
    search_fields = ("delivery_id",)
