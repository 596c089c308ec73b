from django.db import models

from accounts.models import Organization
from connections.encrypted_fields import EncryptedFieldsMixin
from connections.models import Connection
from core.ids import new_id
from repos.models import Repository


def new_sync_id() -> str:
    return new_id("sync")


def new_run_id() -> str:
    return new_id("run")


class Direction(models.TextChoices):
    IMPORT = "import"
    EXPORT = "export"


class Mode(models.TextChoices):
    SNAPSHOT = "snapshot"
    MIRROR = "mirror"


class SyncConfig(EncryptedFieldsMixin, models.Model):
    """One per repository: which external repository and branch it follows, and which way."""

    class Provider(models.TextChoices):
        GITHUB = "github"
        GITLAB = "gitlab"
        GIT = "git"

    ENCRYPTED_FIELDS = ("webhook_secret_ciphertext",)
    Mode = Mode

    id = models.CharField(primary_key=True, max_length=32, default=new_sync_id, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="sync_configs")
    repository = models.OneToOneField(Repository, on_delete=models.CASCADE,
                                      related_name="sync_config")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, null=True, blank=True,
                                   related_name="sync_configs")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    remote = models.CharField(max_length=1000)
    branch = models.CharField(max_length=255)
    direction = models.CharField(max_length=8, choices=Direction.choices,
                                 default=Direction.IMPORT)
    auto_sync = models.BooleanField(default=False)
    overwrite_diverged = models.BooleanField(default=False)
    poll_interval_minutes = models.PositiveIntegerField(null=True, blank=True)
    # Mirror mode (SPEC §6): the remote's own commits for every matching ref. An empty
    # ``branches`` list means just ``branch``.
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.SNAPSHOT)
    branches = models.JSONField(default=list, blank=True)
    tags = models.BooleanField(default=False)
    prune = models.BooleanField(default=False)
    webhook_id = models.BigIntegerField(null=True, blank=True)
    webhook_secret_ciphertext = models.TextField(blank=True, default="")
    auto_sync_paused = models.BooleanField(default=False)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.repository} {self.direction} {self.remote}@{self.branch}"

    @property
    def branch_patterns(self) -> list[str]:
        return list(self.branches) or [self.branch]

    @property
    def tracking_ref(self) -> bytes:
        """Hidden ref holding the last fetched remote commit (haves for incremental fetches)."""
        return f"refs/sync/{self.id}/remote".encode()


class SyncState(models.Model):
    """What was last synced, per branch: the remote commit and the local commit that matched."""

    config = models.ForeignKey(SyncConfig, on_delete=models.CASCADE, related_name="states")
    branch = models.CharField(max_length=255)
    last_remote_sha = models.CharField(max_length=64, null=True, blank=True)
    last_local_sha = models.CharField(max_length=64, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["config", "branch"],
                                               name="uniq_state_branch")]

    def __str__(self) -> str:
        return f"{self.config_id}@{self.branch}"


class SyncRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCESS = "success"
        SKIPPED = "skipped"
        ERROR = "error"

    class Trigger(models.TextChoices):
        API = "api"
        WEBHOOK = "webhook"
        PUSH = "push"
        SCHEDULE = "schedule"

    FINISHED = (Status.SUCCESS, Status.SKIPPED, Status.ERROR)

    id = models.CharField(primary_key=True, max_length=32, default=new_run_id, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    # SET_NULL: a deleted config's runs stay in the repository's history.
    config = models.ForeignKey(SyncConfig, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="runs")
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=8, choices=Trigger.choices, default=Trigger.API)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    branch = models.CharField(max_length=255)
    force = models.BooleanField(default=False)
    message = models.TextField(blank=True, default="")
    error_code = models.CharField(max_length=64, blank=True, default="")
    remote_sha = models.CharField(max_length=64, null=True, blank=True)
    commit_sha = models.CharField(max_length=64, null=True, blank=True)
    files_changed = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    refs = models.JSONField(null=True, blank=True)  # mirror runs: [{ref, old_sha, new_sha, status}]
    # What the run could not represent exactly on the other side (one sentence each).
    warnings = models.JSONField(default=list, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=255, blank=True, default="")  # the current claim
    # "<machine>:<pid>" of the process holding the claim, so a worker on the same machine can see
    # at once that it exited; and how many times a claim's worker was lost mid-run.
    worker_process = models.CharField(max_length=100, blank=True, default="")
    lost_count = models.PositiveIntegerField(default=0)
    # Phase and counters while the run executes (sync/run_progress.py); the final figures stay.
    progress = models.JSONField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)  # last task message (or due time)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["config", "-created_at", "-id"]),
            models.Index(fields=["repository", "status"]),
            # History pages (newest first, keyset cursor) read LIMIT rows of this index, in order.
            models.Index(fields=["repository", "-created_at", "-id"], name="sync_run_repo_history"),
            # Unfinished runs are few among millions: the reaper, the queue-depth metric and the
            # coalescing of requests look only at these.
            models.Index(fields=["status", "config"], name="sync_run_unfinished",
                         condition=models.Q(status__in=["queued", "running"])),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.status}"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED


class WebhookDelivery(models.Model):
    """Every provider delivery we accepted or refused after authentication, de-duplicated."""

    provider = models.CharField(max_length=16)
    delivery_id = models.CharField(max_length=128)
    event = models.CharField(max_length=64)
    config = models.ForeignKey(SyncConfig, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="deliveries")
    outcome = models.CharField(max_length=64)
    run = models.ForeignKey(SyncRun, on_delete=models.SET_NULL, null=True, blank=True,
                            related_name="+")
    received_at = models.DateTimeField(auto_now_add=True)
    # "<branch> <before>..<after>" of a push that queued an import: a captured delivery replayed
    # under a new delivery id carries the same shas and queues nothing.
    push_key = models.CharField(max_length=400, blank=True, default="")

    class Meta:
        # Per config: GitHub gives every hook fired by one event the same X-GitHub-Delivery, so
        # two configs (two orgs) following one repository each get their own delivery.
        constraints = [models.UniqueConstraint(fields=["provider", "config", "delivery_id"],
                                               name="uniq_delivery_per_config"),
                       models.UniqueConstraint(fields=["config", "push_key"],
                                               condition=~models.Q(push_key=""),
                                               name="uniq_push_per_config")]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.provider}:{self.delivery_id} {self.outcome}"
