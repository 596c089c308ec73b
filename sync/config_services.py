"""Sync configs: one per repository, validated, with state reset when what it follows changes."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from connections.models import Connection
from connections.selectors import connection_get
from core.errors import BadRequest, Conflict
from repos.models import Repository
from repos.validation import branch_error
from sync import hooks
from sync.engine.refspecs import patterns_error
from sync.models import SyncConfig, SyncState
from sync.validation import clean_remote

_RESETS = ("remote", "branch", "direction", "mode")


def _provider_for(connection: Connection | None, remote: str) -> str:
    if connection is not None:
        return connection.provider
    if remote.startswith(("https://", "http://")):
        return SyncConfig.Provider.GIT
    raise BadRequest("connection_id is required unless remote is an https:// git URL",
                     details={"connection_id": ["This field is required."]})


def _check_branch(branch: str) -> None:
    if err := branch_error(branch):
        raise BadRequest(f"Invalid request: branch: {err}", details={"branch": [err]})


def _check_poll(minutes: int | None) -> None:
    if minutes is not None and minutes < 5:
        raise BadRequest("poll_interval_minutes must be at least 5",
                         details={"poll_interval_minutes": ["Ensure this value is >= 5."]})


def _check_branches(branches: list[str] | None) -> None:
    if branches is not None and (err := patterns_error(branches)):
        raise BadRequest(f"Invalid request: branches: {err}", details={"branches": [err]})


def sync_config_create(
    *, repo: Repository, remote: str, connection_id: str | None = None,
    direction: str = "import", branch: str | None = None, auto_sync: bool = False,
    overwrite_diverged: bool = False, poll_interval_minutes: int | None = None,
    mode: str = "snapshot", branches: list[str] | None = None, tags: bool = False,
    prune: bool = False,
) -> SyncConfig:
    connection = connection_get(org=repo.org, connection_id=connection_id) if connection_id else None
    provider = _provider_for(connection, remote)
    branch = branch or repo.default_branch
    _check_branch(branch)
    _check_poll(poll_interval_minutes)
    _check_branches(branches)
    config = SyncConfig(
        org=repo.org, repository=repo, connection=connection, provider=provider,
        remote=clean_remote(provider, remote), branch=branch, direction=direction,
        auto_sync=auto_sync, overwrite_diverged=overwrite_diverged,
        poll_interval_minutes=poll_interval_minutes, mode=mode, branches=branches or [],
        tags=tags, prune=prune,
    )
    try:
        with transaction.atomic():
            config.save(force_insert=True)
            hooks.reconcile(config)  # a failed registration leaves no config behind
    except IntegrityError as exc:
        raise Conflict("This repository already has a sync config") from exc
    return config


def sync_config_update(*, config: SyncConfig, **changes) -> SyncConfig:
    """PATCH: any subset of remote, branch, direction, auto_sync, overwrite_diverged, poll, and
    the mirror fields (mode, branches, tags, prune)."""
    changes = {k: v for k, v in changes.items() if v is not None or k == "poll_interval_minutes"}
    if "branch" in changes:
        _check_branch(changes["branch"])
    if "poll_interval_minutes" in changes:
        _check_poll(changes["poll_interval_minutes"])
    if "branches" in changes:
        _check_branches(changes["branches"])
    if "remote" in changes:
        changes["remote"] = clean_remote(config.provider, changes["remote"])
    reset = any(k in changes and changes[k] != getattr(config, k) for k in _RESETS)
    hook_relevant = reset or any(k in changes and changes[k] != getattr(config, k)
                                 for k in ("auto_sync", "tags"))
    old_remote = config.remote
    with transaction.atomic():
        for key, value in changes.items():
            setattr(config, key, value)
        # A PATCH is the operator's word that the remote is fixed: resume automatic triggers.
        config.auto_sync_paused = False
        config.consecutive_failures = 0
        # Only these columns: a full save would write back a secret a key rotation just changed.
        config.save(update_fields=[*changes, "auto_sync_paused", "consecutive_failures",
                                   "updated_at"])
        if reset:
            SyncState.objects.filter(config=config).delete()
        if hook_relevant:
            hooks.reconcile(config, old_remote=old_remote)  # re-registers (tag events follow tags)
    return config


def sync_config_delete(*, config: SyncConfig) -> None:
    hooks.remove(config)
    config.delete()
