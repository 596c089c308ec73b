"""Plain data in and out of the sync engine (no Django): requests describe a run, results report it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

TRAILER = "Coregit-Sync-Remote-Sha"  # on import commits: the remote commit imported
LOCAL_TRAILER = "Coregit-Sync-Local-Sha"  # on export commits: the local commit exported


class GitRemote(Protocol):
    """What the engine needs to reach a remote over smart HTTP (``GitAccess`` fits)."""

    url: str
    username: str
    password: str


@dataclass(frozen=True)
class ImportRequest:
    repo_path: Path | str
    branch: str
    remote: GitRemote
    tracking_ref: bytes  # hidden ref holding the last fetched remote commit, e.g. refs/sync/<id>/remote
    last_remote_sha: str | None = None
    last_local_sha: str | None = None
    force: bool = False
    remote_label: str = "remote"


@dataclass(frozen=True)
class ExportRequest:
    repo_path: Path | str
    branch: str
    remote_name: str  # "owner/repo", "group/project" or the git URL (for messages and API calls)
    last_remote_sha: str | None = None
    last_local_sha: str | None = None
    force: bool = False
    remote_label: str = "remote"
    remote: GitRemote | None = None  # smart-HTTP access: required by the generic git export
    git_fallback: bool = False  # the caller pushes over git when the API cannot be exact


@dataclass
class SyncResult:
    status: Literal["success", "skipped"]
    remote_sha: str | None
    commit_sha: str | None  # the local commit (import: written or already there; export: exported)
    files_changed: int = 0
    deleted: int = 0
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    bytes_received: int = 0  # pack bytes fetched (import), for observability and tests
    requests: int = 0  # provider API calls made (API exports)
    refs: list[dict] | None = None  # mirror runs: [{ref, old_sha, new_sha, status}]


class NeedsGitPush(Exception):
    """Raised by an API exporter before it writes anything, when its provider's API cannot make
    the remote tree equal the local one (e.g. a symlink that exists only on the GitLab side): the
    caller exports over git instead. Not an error a run reports."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def sync_trailer(remote_sha: str) -> str:
    return f"{TRAILER}: {remote_sha}"


def trailer_sha(message: bytes) -> str | None:
    """The remote sha named by a sync commit's trailer, if the message carries one."""
    return _trailer(message, TRAILER)


def local_trailer_sha(message: bytes | str) -> str | None:
    """The local sha named by an export commit's ``Coregit-Sync-Local-Sha`` trailer."""
    return _trailer(message.encode() if isinstance(message, str) else message, LOCAL_TRAILER)


def _trailer(message: bytes, name: str) -> str | None:
    prefix = name.encode() + b": "
    for line in reversed(message.strip().splitlines()):
        if line.startswith(prefix):
            return line[len(prefix):].strip().decode("ascii", "replace")
    return None
