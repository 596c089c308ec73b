"""Outbound event hooks (SPEC §6 "Outbound events") and the record of every delivery."""

from django.db import models
from django.utils import timezone

from accounts.models import Organization
from connections.encrypted_fields import EncryptedFieldsMixin
from core.ids import new_id

EVENT_TYPES = (
    "sync.run.succeeded",
    "sync.run.failed",
    "sync.diverged",
    "sync.auto_sync_paused",
    "sync.auto_sync_resumed",
)


def new_hook_id() -> str:
    return new_id("hook")


def new_delivery_id() -> str:
    return new_id("evd")


class EventHook(EncryptedFieldsMixin, models.Model):
    """A URL that receives signed deliveries of the org's sync events."""

    ENCRYPTED_FIELDS = ("secret_ciphertext",)

    id = models.CharField(primary_key=True, max_length=32, default=new_hook_id, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="event_hooks")
    url = models.CharField(max_length=2048)
    events = models.JSONField(default=list)
    description = models.CharField(max_length=500, blank=True, default="")
    secret_ciphertext = models.TextField()  # the whsec_… signing secret, shown once
    disabled = models.BooleanField(default=False)
    disabled_reason = models.CharField(max_length=500, blank=True, default="")
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["org", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.id} {self.url}"


class EventDelivery(models.Model):
    """One event sent to one hook: its attempts update the row; a redelivery is a new row."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = models.CharField(primary_key=True, max_length=32, default=new_delivery_id,
                          editable=False)
    hook = models.ForeignKey(EventHook, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=64)
    message_id = models.CharField(max_length=64)  # webhook-id: the same on a redelivery
    payload = models.JSONField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempt = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    redelivery_of = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # When the next attempt is due (pending only); the reaper re-publishes deliveries overdue
    # by COREGIT_EVENT_REAP_AFTER_SECONDS (a task message lost in a broker outage).
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # The attempt in flight: taken by a conditional update, so one delivery is never sent twice
    # at once; a claim older than COREGIT_EVENT_CLAIM_SECONDS belongs to a lost worker.
    claim = models.CharField(max_length=32, blank=True, default="")
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["hook", "-created_at", "-id"]),
                   models.Index(fields=["next_attempt_at"], name="event_delivery_due",
                                condition=models.Q(status="pending"))]
        verbose_name_plural = "event deliveries"

    def __str__(self) -> str:
        return f"{self.id} {self.event_type} {self.status}"
