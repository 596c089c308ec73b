from django.contrib import admin

from repos.models import Repository


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin):
    list_display = ("full_path", "org", "default_branch", "id", "created_at")
    list_filter = ("org",)
    search_fields = ("slug", "namespace", "id", "org__slug")
    readonly_fields = ("id", "org", "created_at", "updated_at")
