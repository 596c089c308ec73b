"""Glue between a sync run row and the Django-free engine: build the request, call the engine."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import requests
from django.conf import settings

from connections.clients import connection_client
from connections.credential_services import git_credential_for_repo
from connections.providers.base import GitAccess
from connections.providers.http import new_session
from core.netguard import pinned_session
from sync.engine import exactness, export_git, export_push, importer, progress
from sync.engine.types import ExportRequest, ImportRequest, NeedsGitPush, SyncResult
from sync.models import SyncConfig, SyncRun, SyncState
from sync.run_progress import RunProgressRecorder


def _label(config: SyncConfig) -> str:
    names = {"github": "GitHub", "gitlab": "GitLab", "git": "git"}
    return f"{names[config.provider]} {config.remote}"


remote_label = _label  # what messages call the remote (mirror runs use it too)


def git_session(config: SyncConfig) -> requests.Session:
    """User-supplied hosts go through the URL guard at connect time; cloud hosts do not need to."""
    if config.provider == "git" or (config.connection and config.connection.host):
        return pinned_session()
    return new_session()


def remote_access(config: SyncConfig) -> GitAccess:
    if config.provider == "git":
        cred = git_credential_for_repo(repo=config.repository)
        username, password = cred if cred else ("", "")
        return GitAccess(url=config.remote, username=username or "git", password=password)
    return connection_client(config.connection).git_access(config.remote)


def _import(config: SyncConfig, run: SyncRun, state: SyncState | None) -> SyncResult:
    req = ImportRequest(
        repo_path=config.repository.disk_path, branch=run.branch, remote=remote_access(config),
        tracking_ref=config.tracking_ref,
        last_remote_sha=state.last_remote_sha if state else None,
        last_local_sha=state.last_local_sha if state else None,
        force=run.force or config.overwrite_diverged, remote_label=_label(config),
    )
    return importer.run_import(req, _counted(git_session(config)))


def _export_request(config: SyncConfig, run: SyncRun, state: SyncState | None,
                    remote: GitAccess | None) -> ExportRequest:
    return ExportRequest(
        repo_path=config.repository.disk_path, branch=run.branch, remote_name=config.remote,
        last_remote_sha=state.last_remote_sha if state else None,
        last_local_sha=state.last_local_sha if state else None,
        force=run.force or config.overwrite_diverged, remote_label=_label(config), remote=remote,
    )


def _export(config: SyncConfig, run: SyncRun, state: SyncState | None) -> SyncResult:
    if config.provider == "git":
        req = _export_request(config, run, state, remote_access(config))
        return export_git.run_export(req, _counted(git_session(config)))
    if _push_reason(config, run, state):
        req = _export_request(config, run, state, remote_access(config))
        return export_push.run_export(req, _counted(git_session(config)))
    exporter = _api_exporters()[config.provider]
    client = connection_client(config.connection)
    if isinstance(getattr(client, "session", None), requests.Session):
        _counted(client.session)
    req = dataclasses.replace(_export_request(config, run, state, None), git_fallback=True)
    try:
        return exporter(req, client, pacer=_content_pacer(config))
    except NeedsGitPush:  # e.g. a symlink only on the GitLab side: the API cannot remove it
        req = _export_request(config, run, state, remote_access(config))
        return export_push.run_export(req, _counted(git_session(config)))


def _counted(session: requests.Session) -> requests.Session:
    progress.count_requests(session)  # requests and bytes sent, into the run's progress
    return session


def _content_pacer(config: SyncConfig):
    """GitHub paces content creation per credential: one window shared by every worker (Redis
    when the broker is Redis, else a SQLite file in the data directory)."""
    if config.provider != "github":
        return None
    from connections.providers.pacing import SharedPacer, pacing_key, window_storage  # worker only

    storage = window_storage(settings.CELERY_BROKER_URL, settings.DATA_DIR)
    return SharedPacer(storage, pacing_key("github", config.connection.credentials_hash))


def _push_reason(config: SyncConfig, run: SyncRun, state: SyncState | None) -> str | None:
    """A large change, or symlinks/submodule links for GitLab: pushed over git, not the API."""
    return exactness.push_reason(
        config.repository.disk_path, run.branch, state.last_local_sha if state else None,
        provider=config.provider, min_files=settings.COREGIT_EXPORT_PUSH_MIN_FILES,
        min_bytes=settings.COREGIT_EXPORT_PUSH_MIN_BYTES)


def _api_exporters() -> dict[str, Callable]:
    from sync.engine import export_github, export_gitlab

    return {"github": export_github.run_export, "gitlab": export_gitlab.run_export}


def execute(config: SyncConfig, run: SyncRun, state: SyncState | None) -> SyncResult:
    recorder = RunProgressRecorder(run.pk, run.worker, provider=config.provider,
                                   direction=run.direction)
    with recorder.running(), progress.reporting(recorder):
        progress.phase(progress.RESOLVING)
        if config.mode == SyncConfig.Mode.MIRROR:
            from sync.mirror_runner import execute_mirror

            return execute_mirror(config, run)
        if run.direction == "import":
            return _import(config, run, state)
        return _export(config, run, state)
