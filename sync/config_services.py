"""Sync configs: one per repository, checked against the remote, with state reset when what it
follows changes, and provider hooks moved without ever being half done (see
``sync.provider_hook_registration``)."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from connections.models import Connection
from connections.selectors import connection_get
from core.errors import BadRequest, ConfigDeleted, Conflict
from events import sync_events
from repos.models import Repository
from repos.validation import branch_error
from sync import provider_hook_registration
from sync.engine.refspecs import patterns_error
from sync.models import SyncConfig, SyncRun, SyncState
from sync.remote_check import sync_remote_verify
from sync.tracking_refs import tracking_refs_forget
from sync.validation import clean_remote

_RESETS = ("remote", "branch", "direction", "mode")
_CHECKS = ("remote", "branch", "direction")  # what the remote check depends on
_HOOK_SHAPE = ("mode", "tags")  # a mirror hook follows every branch (and tags)


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


def _needs_polling(config: SyncConfig) -> bool:
    """A generic git host cannot get our webhook: its import auto-sync runs on a schedule."""
    return (config.provider == SyncConfig.Provider.GIT and config.direction == "import"
            and config.auto_sync and config.poll_interval_minutes is None)


def _apply_polling_default(config: SyncConfig, *, explicit_null: bool) -> None:
    if not _needs_polling(config):
        return
    if explicit_null:
        raise BadRequest(
            "A generic git import with auto_sync needs poll_interval_minutes: git hosts cannot "
            "register a push webhook here, so the config is polled instead",
            details={"poll_interval_minutes": ["Required for a git import with auto_sync."]})
    config.poll_interval_minutes = settings.COREGIT_GIT_POLL_MINUTES


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
    _apply_polling_default(config, explicit_null=False)
    if SyncConfig.objects.filter(repository=repo).exists():
        raise Conflict("This repository already has a sync config")
    sync_remote_verify(config=config)
    if provider_hook_registration.wants_hook(config):
        provider_hook_registration.register(config)  # a failure here stores nothing
    try:
        with transaction.atomic():
            config.save(force_insert=True)
    except IntegrityError as exc:
        # A concurrent POST won: drop our new hook.
        provider_hook_registration.delete_hook(provider_hook_registration.site_of(config))
        raise Conflict("This repository already has a sync config") from exc
    return config


def sync_config_update(*, config: SyncConfig, **changes) -> SyncConfig:
    """PATCH: any subset of remote, branch, direction, auto_sync, overwrite_diverged, poll,
    and the mirror fields (mode, branches, tags, prune).

    The new hook (if any) is registered before anything is saved, and the old one removed only
    after the commit: if the provider refuses the new hook, the config and old hook stay as they
    were and the provider's error is the answer.
    """
    explicit_null = "poll_interval_minutes" in changes and changes["poll_interval_minutes"] is None
    changes = {k: v for k, v in changes.items() if v is not None or k == "poll_interval_minutes"}
    if "branch" in changes:
        _check_branch(changes["branch"])
    if "poll_interval_minutes" in changes:
        _check_poll(changes["poll_interval_minutes"])
    if "branches" in changes:
        _check_branches(changes["branches"])
    if "remote" in changes:
        changes["remote"] = clean_remote(config.provider, changes["remote"])
    changed = {k for k, v in changes.items() if v != getattr(config, k)}
    old = provider_hook_registration.site_of(config)
    for key, value in changes.items():
        setattr(config, key, value)
    _apply_polling_default(config, explicit_null=explicit_null)
    if changed & set(_CHECKS):
        sync_remote_verify(config=config)
    keep = (provider_hook_registration.same_hook_serves(old, config)
            and provider_hook_registration.wants_hook(config) and not changed & set(_HOOK_SHAPE))
    if not keep:
        provider_hook_registration.forget(config)
        if provider_hook_registration.wants_hook(config):
            provider_hook_registration.register(config)
    try:
        _save_update(config, changes, reset=bool(changed & set(_RESETS)), hook_moved=not keep)
        if not keep:
            provider_hook_registration.remove_after_commit(old)
    except Exception:
        if not keep:  # the change did not happen: the hook we just made must not stay
            provider_hook_registration.delete_hook(provider_hook_registration.site_of(config))
        raise
    return config


def _save_update(config: SyncConfig, changes: dict, *, reset: bool, hook_moved: bool) -> None:
    fields = [*changes, "auto_sync_paused", "consecutive_failures", "updated_at",
              "poll_interval_minutes"]
    if hook_moved:
        fields += ["webhook_id", "webhook_secret_ciphertext"]
    # A PATCH is the operator's word that the remote is fixed: resume automatic triggers.
    if config.auto_sync_paused:
        sync_events.auto_sync_resumed(config, reason="config_updated")
    config.auto_sync_paused = False
    config.consecutive_failures = 0
    if reset:  # what was synced before says nothing about the new remote or branch
        config.last_synced_at = None
        fields.append("last_synced_at")
    with transaction.atomic():
        # Only these columns: a full save would write back a secret a key rotation just changed.
        config.save(update_fields=sorted(set(fields)))
        if reset:
            SyncState.objects.filter(config=config).delete()
            tracking_refs_forget(config=config)


def sync_config_delete(*, config: SyncConfig) -> list[str]:
    """Delete the config (its runs stay in the repository's history); returns warnings, e.g. a
    provider hook that could not be removed."""
    warnings: list[str] = []
    with transaction.atomic():
        provider_hook_registration.remove_after_commit(
            provider_hook_registration.site_of(config), warnings)
        config.delete()  # its unfinished runs end first (sync.signal_handlers)
    return warnings


def sync_config_runs_cancel(*, config: SyncConfig) -> None:
    """End the config's unfinished runs: they have nothing left to sync against. A worker still
    executing one loses its claim, so it records nothing (see ``sync.run_finish``)."""
    SyncRun.objects.filter(config=config, status__in=[SyncRun.Status.QUEUED,
                                                      SyncRun.Status.RUNNING]).update(
        status=SyncRun.Status.ERROR, error_code=ConfigDeleted.code, worker="",
        message=ConfigDeleted.default_message,
        completed_at=timezone.now())
