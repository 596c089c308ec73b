"""Response shapes of the sync endpoints (the bodies themselves are built in sync/bodies.py)."""

from rest_framework import serializers

from core.responses import list_shape
from sync.models import Direction, SyncConfig, SyncRun

SHA = {"allow_null": True, "help_text": "A commit sha, or null."}
MODES = ["snapshot", "mirror"]


class RefOutcomeSerializer(serializers.Serializer):
    ref = serializers.CharField()
    old_sha = serializers.CharField(**SHA)
    new_sha = serializers.CharField(**SHA)
    status = serializers.ChoiceField(choices=["created", "updated", "deleted", "unchanged",
                                              "diverged", "backed_up"])
    backup = serializers.CharField(required=False, help_text="The backup ref keeping old_sha.")

    class Meta:
        ref_name = "RefOutcome"


def warnings_field(*, required: bool = False) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(), required=required,
        help_text="What the run could not represent exactly on the other side (e.g. a path an "
                  "API cannot write, a ref name this service cannot hold), one sentence each; "
                  "on a queued trigger, also a queue that could not be reached. "
                  + ("Empty when there is nothing to report." if required
                     else "Present only when there is something to report."))


def refs_field() -> serializers.ListField:
    return serializers.ListField(child=RefOutcomeSerializer(), required=False,
                                 help_text="Mirror runs only: what happened to every ref.")


class SyncConfigCreatedSerializer(serializers.Serializer):
    id = serializers.CharField()
    repo_id = serializers.CharField()
    connection_id = serializers.CharField(allow_null=True,
                                          help_text="Null for generic git (`provider: git`).")
    provider = serializers.ChoiceField(choices=SyncConfig.Provider.values)
    remote = serializers.CharField()
    branch = serializers.CharField()
    direction = serializers.ChoiceField(choices=Direction.values)
    auto_sync = serializers.BooleanField()
    overwrite_diverged = serializers.BooleanField()
    poll_interval_minutes = serializers.IntegerField(allow_null=True)
    webhook_id = serializers.IntegerField(allow_null=True,
                                          help_text="The provider webhook, when one is registered.")
    mode = serializers.ChoiceField(choices=MODES)
    branches = serializers.ListField(child=serializers.CharField(),
                                     help_text="Mirror mode: branch names or glob patterns.")
    tags = serializers.BooleanField()
    prune = serializers.BooleanField()
    webhook_url = serializers.CharField(
        required=False, help_text="Generic git (`provider: git`) only: paste into the host.")

    class Meta:
        ref_name = "SyncConfigCreated"


class ConnectionSummarySerializer(serializers.Serializer):
    label = serializers.CharField()
    external_username = serializers.CharField(allow_blank=True)

    class Meta:
        ref_name = "ConnectionSummary"


class SyncConfigSerializer(SyncConfigCreatedSerializer):
    repo_id = None
    last_synced_sha = serializers.CharField(**SHA)
    last_synced_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(allow_null=True)
    auto_sync_paused = serializers.BooleanField()
    connection = ConnectionSummarySerializer(allow_null=True)

    class Meta:
        ref_name = "SyncConfig"


class SyncConfigEnvelopeSerializer(serializers.Serializer):
    config = SyncConfigSerializer(allow_null=True, help_text="Null when there is no config.")

    class Meta:
        ref_name = "SyncConfigEnvelope"


class TriggerResultSerializer(serializers.Serializer):
    synced = serializers.BooleanField(help_text="True if changes were applied.")
    remote_sha = serializers.CharField(**SHA)
    commit_sha = serializers.CharField(**SHA)
    files_changed = serializers.IntegerField()
    deleted = serializers.IntegerField()
    direction = serializers.ChoiceField(choices=Direction.values)
    run_id = serializers.CharField()
    refs = refs_field()
    warnings = warnings_field()

    class Meta:
        ref_name = "TriggerResult"


class RunQueuedSerializer(serializers.Serializer):
    run_id = serializers.CharField()
    status = serializers.ChoiceField(choices=SyncRun.Status.values)
    warnings = warnings_field()

    class Meta:
        ref_name = "RunQueued"


class RunErrorSerializer(serializers.Serializer):
    """The error body, plus the failed run's id when the error is the run's outcome."""

    error = serializers.CharField()
    code = serializers.CharField()
    details = serializers.DictField(required=False, child=serializers.JSONField())
    run_id = serializers.CharField(required=False, help_text="The run that failed.")
    refs = refs_field()
    warnings = warnings_field()

    class Meta:
        ref_name = "RunError"


class RunSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.ChoiceField(choices=SyncRun.Status.values)
    message = serializers.CharField(allow_blank=True)
    remote_sha = serializers.CharField(**SHA)
    commit_sha = serializers.CharField(**SHA)
    trigger = serializers.ChoiceField(choices=SyncRun.Trigger.values)
    direction = serializers.ChoiceField(choices=Direction.values)
    branch = serializers.CharField()
    files_changed = serializers.IntegerField()
    deleted = serializers.IntegerField()
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    progress = serializers.DictField(
        child=serializers.JSONField(), allow_null=True,
        help_text="The phase and counters while the run executes; the final figures stay.")
    error_code = serializers.CharField(allow_null=True,
                                       help_text="The error's stable code, for a failed run.")
    refs = refs_field()
    warnings = warnings_field(required=True)

    class Meta:
        ref_name = "SyncRun"


RunHistorySerializer = list_shape("SyncRunHistory", "runs", RunSerializer, paged=True)


class WebhookSecretSerializer(serializers.Serializer):
    webhook_url = serializers.CharField(help_text="Paste into the git host's webhook settings.")
    webhook_secret = serializers.CharField(help_text="Shown only once; replaces the previous one.")

    class Meta:
        ref_name = "WebhookSecret"


class BackupSerializer(serializers.Serializer):
    backup = serializers.CharField(help_text="The backup ref (`refs/coregit/backup/...`).")
    ref = serializers.CharField(help_text="The ref it was taken of.")
    sha = serializers.CharField()
    created_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "Backup"


BackupListSerializer = list_shape("BackupList", "backups", BackupSerializer)


class BackupRestoredSerializer(serializers.Serializer):
    ref = serializers.CharField()
    old_sha = serializers.CharField(**SHA)
    new_sha = serializers.CharField()
    backup = serializers.CharField(allow_null=True,
                                   help_text="Where the replaced tip was kept, if it moved.")

    class Meta:
        ref_name = "BackupRestored"
