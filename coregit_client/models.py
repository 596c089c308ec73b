"""Typed response objects. Unknown fields are ignored, so newer servers do not break older clients."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T", bound="Model")
FINISHED = ("success", "skipped", "error")


@dataclass
class Model:
    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Connection(Model):
    id: str
    provider: str
    label: str
    external_username: str | None = None
    host: str | None = None
    method: str | None = None
    version: int | None = None
    credentials_hash: str | None = None
    created_at: str | None = None
    last_synced_at: str | None = None
    updated_at: str | None = None


@dataclass
class ConnectionTest(Model):
    valid: bool
    username: str | None = None
    error: str | None = None


@dataclass
class GitCredential(Model):
    id: str
    created_at: str | None = None


@dataclass
class Repo(Model):
    id: str
    slug: str
    namespace: str | None = None
    full_path: str | None = None
    default_branch: str | None = None
    description: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


@dataclass
class SyncConfig(Model):
    id: str
    provider: str
    remote: str
    branch: str
    direction: str
    auto_sync: bool = False
    connection_id: str | None = None
    repo_id: str | None = None
    overwrite_diverged: bool = False
    poll_interval_minutes: int | None = None
    webhook_id: int | None = None
    last_synced_sha: str | None = None
    last_synced_at: str | None = None
    last_error: str | None = None
    auto_sync_paused: bool = False
    connection: dict | None = None


@dataclass
class RunProgress(Model):
    """What a run reported while it executed (missing counters are 0)."""

    phase: str | None = None
    phases: list[str] = field(default_factory=list)
    bytes_received: int = 0
    objects_received: int = 0
    objects_total: int | None = None
    requests: int = 0
    requests_total: int | None = None
    bytes_sent: int = 0
    bytes_total: int | None = None
    files_total: int | None = None
    refs_updated: int = 0
    updated_at: str | None = None


@dataclass
class SyncRun(Model):
    id: str
    status: str
    message: str = ""
    error_code: str | None = None
    remote_sha: str | None = None
    commit_sha: str | None = None
    trigger: str | None = None
    direction: str | None = None
    branch: str | None = None
    files_changed: int = 0
    deleted: int = 0
    started_at: str | None = None
    completed_at: str | None = None
    created_at: str | None = None
    progress: RunProgress | None = None
    warnings: list[str] = field(default_factory=list)  # what could not be represented exactly

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SyncRun:
        run = super().from_dict(data)
        if isinstance(data.get("progress"), dict):
            run.progress = RunProgress.from_dict(data["progress"])
        return run

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


@dataclass
class TriggerResult(Model):
    """A trigger's answer: the seed's body when the run finished, else its id and status."""

    run_id: str
    status: str
    synced: bool = False
    remote_sha: str | None = None
    commit_sha: str | None = None
    files_changed: int = 0
    deleted: int = 0
    direction: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @classmethod
    def from_run(cls, run: SyncRun) -> TriggerResult:
        return cls(run_id=run.id, status=run.status, synced=run.status == "success",
                   remote_sha=run.remote_sha, commit_sha=run.commit_sha,
                   files_changed=run.files_changed, deleted=run.deleted, direction=run.direction,
                   warnings=list(run.warnings))
