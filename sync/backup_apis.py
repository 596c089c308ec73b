"""``/v1/repos/:slug/sync/backups``: the backup refs mirror runs keep, listed, restored, deleted."""

from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from repos.apis import RepoScopedMixin
from sync import backup_services
from sync.apis import _MasterForWrites


class _BackupRef(serializers.Serializer):
    backup = serializers.CharField(max_length=1000)


class SyncBackupListApi(_MasterForWrites, RepoScopedMixin, APIView):
    DeleteSerializer = _BackupRef

    def get(self, request, **kwargs):
        repo = self.get_repo(request, "read")
        return Response({"backups": backup_services.sync_backup_list(repo=repo)})

    def delete(self, request, **kwargs):
        """Body (or query) ``{backup}``: delete one backup ref."""
        repo = self.get_repo(request, "write")
        data = self.DeleteSerializer(data=request.data or request.query_params)
        data.is_valid(raise_exception=True)
        backup_services.sync_backup_delete(repo=repo, backup=data.validated_data["backup"])
        return Response({"deleted": True})


class SyncBackupRestoreApi(_MasterForWrites, RepoScopedMixin, APIView):
    class InputSerializer(_BackupRef):
        ref = serializers.CharField(max_length=1000)

    def post(self, request, **kwargs):
        repo = self.get_repo(request, "write")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(backup_services.sync_backup_restore(repo=repo, **data.validated_data))
