"""Sync config, trigger and history endpoints (seed sync-api.txt)."""

import time

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsMasterKey
from core.errors import NotFound, http_status_for_code
from core.pagination import paginate
from core.responses import DeletedSerializer, ErrorSerializer, UpdatedSerializer, errors
from core.serializers import (
    ID_MAX,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    StrictSerializer,
)
from repos.apis import RepoScopedMixin, page_query
from repos.serializers import PageQuerySerializer
from sync import config_services, run_services, selectors, wait_slots
from sync.bodies import config_body, run_body, trigger_body, warnings_of
from sync.models import Direction, SyncRun
from sync.serializers import (
    RunErrorSerializer,
    RunHistorySerializer,
    RunQueuedSerializer,
    RunSerializer,
    SyncConfigCreatedSerializer,
    SyncConfigEnvelopeSerializer,
    TriggerResultSerializer,
)

REMOTE_RULES = (
    "`remote` per provider: `owner/repo` for GitHub, `group[/subgroup...]/project` for GitLab "
    "(the provider follows the connection); with no `connection_id`, an `https://` git URL "
    "(no query or fragment) and the provider is `git`, using the repository's git credential."
)
POLL = {"min_value": 5, "max_value": 10080, "allow_null": True,
        "help_text": "Poll the remote every N minutes (5 to 10080), or null for never."}


REMOTE_CHECK = ("The remote is checked with the provider first. 422 codes: "
                "`provider.remote_not_found` (no such remote, or the credential cannot see it), "
                "`provider.ref_not_found` (no such branch), `provider.access_denied` (the "
                "credential cannot push, for an export). 502: the provider failed or was "
                "unreachable.")


def _remote_error() -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=REMOTE_CHECK)


def _run_error(status: int, description: str) -> OpenApiResponse:
    return OpenApiResponse(RunErrorSerializer, description=description)


class _MasterForWrites:
    def get_permissions(self):
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return super().get_permissions()
        return [IsMasterKey()]


class SyncConfigApi(_MasterForWrites, RepoScopedMixin, APIView):
    class CreateSerializer(StrictSerializer):
        connection_id = StrictCharField(max_length=ID_MAX, required=False, allow_null=True,
                                        help_text="Required for GitHub and GitLab remotes.")
        remote = StrictCharField(max_length=1000, help_text=REMOTE_RULES)
        direction = StrictChoiceField(choices=Direction.values, default="import")
        branch = StrictCharField(max_length=255, required=False,
                                 help_text="Default: the repository's default branch.")
        auto_sync = StrictBooleanField(default=False)
        overwrite_diverged = StrictBooleanField(default=False)
        poll_interval_minutes = StrictIntegerField(required=False, **POLL)
        mode = StrictChoiceField(choices=["snapshot", "mirror"], default="snapshot",
                                 help_text="mirror: the remote's own commits for every matched ref")
        branches = serializers.ListField(
            child=StrictCharField(max_length=255), required=False, allow_empty=True,
            max_length=100, help_text="Mirror mode: branch names or glob patterns (default: branch)")
        tags = StrictBooleanField(default=False)
        prune = StrictBooleanField(default=False)

    class UpdateSerializer(StrictSerializer):
        remote = StrictCharField(max_length=1000, required=False, help_text=REMOTE_RULES)
        direction = StrictChoiceField(choices=Direction.values, required=False)
        branch = StrictCharField(max_length=255, required=False)
        auto_sync = StrictBooleanField(required=False)
        overwrite_diverged = StrictBooleanField(required=False)
        poll_interval_minutes = StrictIntegerField(required=False, **POLL)
        mode = StrictChoiceField(choices=["snapshot", "mirror"], required=False)
        branches = serializers.ListField(child=StrictCharField(max_length=255), required=False,
                                         allow_empty=True, max_length=100)
        tags = StrictBooleanField(required=False)
        prune = StrictBooleanField(required=False)

    @extend_schema(summary="Get the repository's sync config",
                   responses={200: SyncConfigEnvelopeSerializer, **errors(404)})
    def get(self, request, **kwargs):
        config = selectors.sync_config_for_repo(repo=self.get_repo(request, "read"))
        return Response({"config": config_body(config) if config else None})

    @extend_schema(summary="Create the repository's sync config (master key only)",
                   description=f"{REMOTE_RULES}\n\n{REMOTE_CHECK}",
                   responses={201: SyncConfigCreatedSerializer, 422: _remote_error(),
                              **errors(403, 502, e404="No such repository or connection.",
                                       e409="The repository already has a sync config.")})
    def post(self, request, **kwargs):
        repo = self.get_repo(request, "write")
        data = self.CreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        config = config_services.sync_config_create(repo=repo, **data.validated_data)
        return Response(config_body(config, created=True), status=201)

    @extend_schema(summary="Update the sync config (master key only)",
                   description="`connection_id` and `provider` cannot change (400).\n\n"
                               + REMOTE_CHECK,
                   responses={200: UpdatedSerializer, 422: _remote_error(),
                              **errors(403, 404, 502)})
    def patch(self, request, **kwargs):
        config = self._config(request)
        data = self.UpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        config_services.sync_config_update(config=config, **data.validated_data)
        return Response({"updated": True})

    @extend_schema(summary="Delete the sync config (master key only)",
                   description="Answers `warnings` when the provider webhook could not be "
                               "removed; the config is deleted anyway. Run history stays "
                               "readable through the repository.",
                   responses={200: DeletedSerializer, **errors(403, 404)})
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

    class InputSerializer(StrictSerializer):
        sync_id = StrictCharField(max_length=ID_MAX)
        branch = StrictCharField(max_length=255, required=False)
        wait = StrictBooleanField(default=True,
                                  help_text="Wait for the run (up to the server's limit).")
        force = StrictBooleanField(default=False,
                                   help_text="Override divergence (history is kept).")

    @extend_schema(
        summary="Trigger a sync run (master key only)",
        responses={
            200: TriggerResultSerializer,
            202: OpenApiResponse(RunQueuedSerializer,
                                 description="Queued or still running (`wait: false`, the "
                                             "wait ran out, or the server already holds as "
                                             "many waits as it allows: see "
                                             "`COREGIT_SYNC_WAIT_SLOTS`)."),
            **errors(403, 404),
            422: OpenApiResponse(ErrorSerializer, description=REMOTE_CHECK.replace(
                " (the credential cannot push, for an export)", "")),
            409: _run_error(409, "The run failed: the branches diverged or a ref moved."),
            500: _run_error(500, "The run failed."),
            502: _run_error(502, "The run failed: the provider failed or was unreachable."),
        },
    )
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
            with wait_slots.wait_slot() as may_wait:  # none free: answered as `wait: false`
                if may_wait:
                    run = _wait_for(run, settings.COREGIT_SYNC_WAIT_SECONDS)
        if not run.finished:
            unpublished = run_services.sync_run_unpublished(run)
            body = {"run_id": run.id, "status": run.status,
                    **warnings_of(run, *([run_services.QUEUE_UNREACHABLE] if unpublished else []))}
            return Response(body, status=202)
        if run.status == SyncRun.Status.ERROR:
            body = {"error": run.message, "code": run.error_code, "run_id": run.id,
                    **warnings_of(run)}
            if run.refs is not None:
                body["refs"] = run.refs
            return Response(body, status=http_status_for_code(run.error_code))
        return Response(trigger_body(run))


def _wait_for(run: SyncRun, seconds: float) -> SyncRun:
    """Poll the run row until it finishes or the wait runs out (the worker does the work)."""
    start = time.monotonic()
    deadline = start + seconds
    while not run.finished and (now := time.monotonic()) < deadline:
        time.sleep(min(wait_step(now - start), deadline - now))
        run.refresh_from_db()
    return run


def wait_step(elapsed: float) -> float:
    """The next pause: a tenth of the time waited so far, between 10 ms and 0.5 s.

    The answer then comes at most ~10 % (or 10 ms) after the run ends, whatever its length; a
    wait of 1 s reads the row 35 times, one of 25 s 92 times (a fixed growth factor left pauses
    of up to 0.5 s after a run of 1 s, a large part of a small import's trigger-to-done).
    """
    return min(max(elapsed / 10, 0.01), 0.5)


class SyncHistoryApi(RepoScopedMixin, APIView):
    @extend_schema(summary="Sync runs of the repository, newest first",
                   parameters=[PageQuerySerializer],
                   responses={200: RunHistorySerializer, **errors(404)})
    def get(self, request, **kwargs):
        repo = self.get_repo(request, "read")
        query = page_query(request)
        runs, cursor = paginate(selectors.sync_run_history(repo=repo), limit=query["limit"],
                                cursor=query.get("cursor"))
        return Response({"runs": [run_body(r) for r in runs], "next_cursor": cursor})


class SyncRunDetailApi(RepoScopedMixin, APIView):
    """One run with its progress (``GET /v1/repos/:slug/sync/runs/:id``)."""

    @extend_schema(summary="One sync run, with its progress while it executes",
                   responses={200: RunSerializer,
                              **errors(e404="No such repository or run.")})
    def get(self, request, run_id: str, **kwargs):
        run = selectors.sync_run_get(repo=self.get_repo(request, "read"), run_id=run_id)
        return Response(run_body(run))
