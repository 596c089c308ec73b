from django.db import models

from core.ids import new_id


def new_org_id() -> str:
    return new_id("org")


def new_key_id() -> str:
    return new_id("key")


class Organization(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_org_id, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.slug


class ApiKey(models.Model):
    """An API key; only its SHA-256 digest and a display prefix are stored."""

    id = models.CharField(primary_key=True, max_length=32, default=new_key_id, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200)
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    is_master = models.BooleanField(default=False)
    scopes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["org", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"
