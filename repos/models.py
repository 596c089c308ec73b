from pathlib import Path

from django.conf import settings
from django.db import models

from accounts.models import Organization
from core.ids import new_id


def new_repo_id() -> str:
    return new_id("repo")


class Repository(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_repo_id, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="repositories")
    namespace = models.CharField(max_length=100, blank=True, default="")
    slug = models.CharField(max_length=100)
    default_branch = models.CharField(max_length=255, default="main")
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "namespace", "slug"], name="uniq_repo_path")
        ]
        verbose_name_plural = "repositories"

    def __str__(self) -> str:
        return f"{self.org.slug}/{self.full_path}"

    @property
    def full_path(self) -> str:
        """``slug`` or ``namespace/slug``: the name scopes and URLs use."""
        return f"{self.namespace}/{self.slug}" if self.namespace else self.slug

    @property
    def disk_path(self) -> Path:
        # Ids, not names, on disk: no path traversal, and a rename never moves data.
        return Path(settings.COREGIT_REPO_ROOT) / self.org_id / f"{self.id}.git"
