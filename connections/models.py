from django.db import models

from accounts.models import Organization
from connections.encrypted_fields import EncryptedFieldsMixin
from core.ids import new_id
from repos.models import Repository


def new_connection_id() -> str:
    return new_id("conn")


def new_credential_id() -> str:
    return new_id("ggc")


class Connection(EncryptedFieldsMixin, models.Model):
    """Stored provider credentials: a token, or a GitHub App installation."""

    class Provider(models.TextChoices):
        GITHUB = "github"
        GITLAB = "gitlab"

    class Method(models.TextChoices):
        TOKEN = "token"
        GITHUB_APP = "github_app"

    ENCRYPTED_FIELDS = ("secret_ciphertext", "cached_token_ciphertext")

    id = models.CharField(primary_key=True, max_length=32, default=new_connection_id,
                          editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="connections")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    method = models.CharField(max_length=16, choices=Method.choices, default=Method.TOKEN)
    label = models.CharField(max_length=200)
    host = models.URLField(blank=True, default="")  # empty: github.com / gitlab.com
    external_username = models.CharField(max_length=255, blank=True, default="")
    # The access token (method=token) or the app's PEM private key (method=github_app).
    secret_ciphertext = models.TextField()
    app_id = models.CharField(max_length=32, blank=True, default="")
    installation_id = models.CharField(max_length=32, blank=True, default="")
    cached_token_ciphertext = models.TextField(blank=True, default="")
    cached_token_expires_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    credentials_hash = models.CharField(max_length=128)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["org", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.label} ({self.provider})"


class GitCredential(EncryptedFieldsMixin, models.Model):
    """One HTTPS username/password per repository, for generic git hosts."""

    ENCRYPTED_FIELDS = ("password_ciphertext",)

    id = models.CharField(primary_key=True, max_length=32, default=new_credential_id,
                          editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="git_credentials")
    repository = models.OneToOneField(Repository, on_delete=models.CASCADE,
                                      related_name="git_credential")
    username = models.CharField(max_length=255, blank=True, default="")
    password_ciphertext = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.id} ({self.repository_id})"
