from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from core.errors import CoregitError
from sync.admin_display import auto_sync_badge, run_progress
from sync.config_resume import sync_config_resume_auto_sync
from sync.models import SyncConfig, SyncRun, WebhookDelivery
from sync.run_services import sync_run_request


@admin.register(SyncConfig)
class SyncConfigAdmin(admin.ModelAdmin):
    list_display = ("repository", "provider", "remote", "branch", "direction", "auto_sync",
                    "auto_sync_state", "last_synced_at", "last_error")
    list_filter = ("provider", "direction", "auto_sync", "auto_sync_paused")
    list_select_related = ("repository__org",)  # a repository's name shows its org's slug
    search_fields = ("remote", "repository__slug", "id")
    exclude = ("webhook_secret_ciphertext",)
    readonly_fields = ("id", "org", "repository", "connection", "provider", "webhook_id",
                       "consecutive_failures", "last_error", "last_synced_at", "created_at",
                       "updated_at")
    actions = ["sync_now", "resume_auto_sync"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="auto-sync", ordering="auto_sync_paused")
    def auto_sync_state(self, config: SyncConfig) -> str:
        return auto_sync_badge(config)

    @admin.action(description="Sync now")
    def sync_now(self, request, queryset):
        runs_url = reverse("admin:sync_syncrun_changelist")
        for config in queryset:
            try:
                run = sync_run_request(config=config, trigger=SyncRun.Trigger.API)
            except CoregitError as exc:
                self.message_user(request, f"{config.repository}: {exc.message}", messages.ERROR)
                continue
            self.message_user(request, format_html(
                '{}: run <a href="{}?id={}">{}</a> queued', config.repository, runs_url, run.id,
                run.id), messages.SUCCESS)

    @admin.action(description="Resume auto-sync")
    def resume_auto_sync(self, request, queryset):
        for config in queryset:
            if sync_config_resume_auto_sync(config=config):
                self.message_user(request, f"{config.repository}: auto-sync resumed",
                                  messages.SUCCESS)
            else:
                self.message_user(request, f"{config.repository}: auto-sync was not paused",
                                  messages.WARNING)


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SyncRun)
class SyncRunAdmin(_ReadOnly):
    list_display = ("id", "repository", "status", "provider", "trigger", "direction", "branch",
                    "progress_summary", "files_changed", "deleted", "created_at", "completed_at")
    list_filter = ("status", ("config__provider", admin.ChoicesFieldListFilter), "trigger",
                   "direction", "error_code")
    list_select_related = ("repository__org", "config")
    search_fields = ("id", "repository__slug", "remote_sha", "commit_sha")
    date_hierarchy = "created_at"

    @admin.display(description="provider", ordering="config__provider")
    def provider(self, run: SyncRun) -> str:
        return run.config.provider if run.config else "—"

    @admin.display(description="progress")
    def progress_summary(self, run: SyncRun) -> str:
        return run_progress(run)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(_ReadOnly):
    list_display = ("delivery_id", "provider", "event", "config", "outcome", "run",
                    "received_at")
    list_filter = ("provider", "event", "outcome")
    list_select_related = ("config__repository__org", "run")
    search_fields = ("delivery_id",)
