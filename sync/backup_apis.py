"""``/v1/repos/:slug/sync/backups``: the backup refs mirror runs keep, listed, restored, deleted."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.responses import DeletedSerializer, errors
from core.serializers import StrictCharField, StrictSerializer
from repos.apis import RepoScopedMixin
from sync import backup_services
from sync.apis import _MasterForWrites
from sync.serializers import BackupListSerializer, BackupRestoredSerializer

BACKUP_HELP = "A backup ref, `refs/coregit/backup/<ref>/<timestamp>` (as listed)."


class _BackupRef(StrictSerializer):
    backup = StrictCharField(max_length=1000, help_text=BACKUP_HELP)


class SyncBackupListApi(_MasterForWrites, RepoScopedMixin, APIView):
    DeleteSerializer = _BackupRef

    @extend_schema(summary="Backup refs kept by mirror runs",
                   responses={200: BackupListSerializer, **errors(404)})
    def get(self, request, **kwargs):
        repo = self.get_repo(request, "read")
        return Response({"backups": backup_services.sync_backup_list(repo=repo)})

    @extend_schema(summary="Delete one backup ref (master key only; the body names it)",
                   responses={200: DeletedSerializer,
                              **errors(403, e404="No such repository or backup ref.")})
    def delete(self, request, **kwargs):
        repo = self.get_repo(request, "write")
        data = self.DeleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        backup_services.sync_backup_delete(repo=repo, backup=data.validated_data["backup"])
        return Response({"deleted": True})


class SyncBackupRestoreApi(_MasterForWrites, RepoScopedMixin, APIView):
    class InputSerializer(_BackupRef):
        ref = StrictCharField(max_length=1000, help_text="The full ref to move back: "
                                                         "`refs/heads/…` or `refs/tags/…`.")

    @extend_schema(summary="Move a ref back to a backup (master key only)",
                   description="The tip it replaces is kept as one more backup. 400 when "
                               "`backup` is not a backup of `ref`.",
                   responses={200: BackupRestoredSerializer,
                              **errors(403, e404="No such repository or backup ref.")})
    def post(self, request, **kwargs):
        repo = self.get_repo(request, "write")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(backup_services.sync_backup_restore(repo=repo, **data.validated_data))
