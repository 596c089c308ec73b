"""Sync config, trigger and history endpoints (seed sync-api.txt)."""

import time

from django.conf import settings
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsMasterKey
from core.errors import NotFound, http_status_for_code
from core.pagination import paginate, parse_limit
from repos.apis import RepoScopedMixin
from sync import config_services, run_services, selectors
from sync.bodies import config_body, run_body, trigger_body
from sync.models import SyncRun


class _MasterForWrites:
    def get_permissions(self):
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return super().get_permissions()
        return [IsMasterKey()]


class SyncConfigApi(_MasterForWrites, RepoScopedMixin, APIView):
    class CreateSerializer(serializers.Serializer):
        connection_id = serializers.CharField(required=False, allow_null=True)
        remote = serializers.CharField(max_length=1000)
        direction = serializers.ChoiceField(choices=["import", "export"], default="import")
        branch = serializers.CharField(max_length=255, required=False)
        auto_sync = serializers.BooleanField(default=False)
        overwrite_diverged = serializers.BooleanField(default=False)
        poll_interval_minutes = serializers.IntegerField(required=False, allow_null=True)

    class UpdateSerializer(serializers.Serializer):
        remote = serializers.CharField(max_length=1000, required=False)
        direction = serializers.ChoiceField(choices=["import", "export"], required=False)
        branch = serializers.CharField(max_length=255, required=False)
        auto_sync = serializers.BooleanField(required=False)
        overwrite_diverged = serializers.BooleanField(required=False)
        poll_interval_minutes = serializers.IntegerField(required=False, allow_null=True)

    def get(self, request, **kwargs):
        config = selectors.sync_config_for_repo(repo=self.get_repo(request, "read"))
        return Response({"config": config_body(config) if config else None})

    def post(self, request, **kwargs):
        repo = self.get_repo(request, "write")
        data = self.CreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        config = config_services.sync_config_create(repo=repo, **data.validated_data)
        return Response(config_body(config, created=True), status=201)

    def patch(self, request, **kwargs):
        config = self._config(request)
        data = self.UpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        config_services.sync_config_update(config=config, **data.validated_data)
        return Response({"updated": True})

    def delete(self, request, **kwargs):
        warnings = config_services.sync_config_delete(config=self._config(request))
        return Response({"deleted": True, **({"warnings": warnings} if warnings else {})})

    def _config(self, request):
        config = selectors.sync_config_for_repo(repo=self.get_repo(request, "write"))
        if config is None:
            raise NotFound("This repository has no sync config")
        return config


class SyncTriggerApi(RepoScopedMixin, APIView):
    permission_classes = [IsMasterKey]

    class InputSerializer(serializers.Serializer):
        sync_id = serializers.CharField()
        branch = serializers.CharField(max_length=255, required=False)
        wait = serializers.BooleanField(default=True)
        force = serializers.BooleanField(default=False)

    def post(self, request, **kwargs):
        repo = self.get_repo(request, "write")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        args = data.validated_data
        config = selectors.sync_config_get(repo=repo, sync_id=args["sync_id"])
        run = run_services.sync_run_request(
            config=config, trigger=SyncRun.Trigger.API, branch=args.get("branch"),
            force=args["force"],
        )
        if args["wait"] and not run_services.sync_run_unpublished(run):
            run = _wait_for(run, settings.COREGIT_SYNC_WAIT_SECONDS)
        if not run.finished:
            body = {"run_id": run.id, "status": run.status}
            if run_services.sync_run_unpublished(run):
                body["warnings"] = [run_services.QUEUE_UNREACHABLE]
            return Response(body, status=202)
        if run.status == SyncRun.Status.ERROR:
            body = {"error": run.message, "code": run.error_code, "run_id": run.id}
            return Response(body, status=http_status_for_code(run.error_code))
        return Response(trigger_body(run))


def _wait_for(run: SyncRun, seconds: float) -> SyncRun:
    """Poll the run row until it finishes or the wait runs out (the worker does the work)."""
    deadline = time.monotonic() + seconds
    delay = 0.05
    while not run.finished and time.monotonic() < deadline:
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
        run.refresh_from_db()
    return run


class SyncHistoryApi(RepoScopedMixin, APIView):
    def get(self, request, **kwargs):
        repo = self.get_repo(request, "read")
        limit = parse_limit(request.query_params.get("limit"))
        runs, cursor = paginate(selectors.sync_run_history(repo=repo), limit=limit,
                                cursor=request.query_params.get("cursor"))
        return Response({"runs": [run_body(r) for r in runs], "next_cursor": cursor})


class SyncRunDetailApi(RepoScopedMixin, APIView):
    """One run with its progress (``GET /v1/repos/:slug/sync/runs/:id``)."""

    def get(self, request, run_id: str, **kwargs):
        run = selectors.sync_run_get(repo=self.get_repo(request, "read"), run_id=run_id)
        return Response(run_body(run))
