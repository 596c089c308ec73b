"""Backup refs (``refs/coregit/backup/<ref>/<utc-timestamp>``): list, restore, delete.

Restoring moves the ref back by compare-and-swap under the repository lock, after keeping the tip
it replaces as one more backup: a restore never loses a commit either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dulwich.refs import check_ref_format

from core.errors import BadRequest, NotFound
from repos import storage
from sync.engine.mirror_refs import BACKUP_PREFIX, delete_ref, keep_backup, utc_stamp

_USER_REFS = (b"refs/heads/", b"refs/tags/")


@dataclass(frozen=True)
class Backup:
    backup: str  # the backup ref
    ref: str  # the ref it was taken of
    sha: str
    created_at: str | None  # ISO 8601, from the ref's timestamp


@dataclass(frozen=True)
class Restored:
    ref: str
    old_sha: str | None
    new_sha: str
    backup: str | None  # where the replaced tip was kept


def list_backups(repo_path: Path | str) -> list[Backup]:
    with storage.open_repo(repo_path) as repo:
        refs = repo.refs.as_dict(BACKUP_PREFIX.rstrip(b"/"))
    return sorted((_describe(BACKUP_PREFIX + name, sha) for name, sha in refs.items()),
                  key=lambda b: (b.ref, b.backup))


def restore_backup(repo_path: Path | str, *, ref: str, backup: str) -> Restored:
    target, source = _user_ref(ref), _backup_ref(backup)
    if not source.startswith(BACKUP_PREFIX + target + b"/"):
        raise BadRequest(f"{backup} is not a backup of {ref}",
                         details={"backup": [f"not a backup of {ref}"]})
    with storage.open_repo(repo_path) as repo, storage.repo_lock(repo_path):
        sha = _existing(repo, source)
        current = storage.read_ref(repo, target)
        kept = None
        if current is not None and current != sha:
            kept = keep_backup(repo, target, current, utc_stamp()).decode()
        if current != sha:
            storage.cas_ref(repo, target, current, sha, message=b"coregit-sync: restore backup")
    return Restored(ref, current.decode() if current else None, sha.decode(), kept)


def delete_backup(repo_path: Path | str, *, backup: str) -> None:
    name = _backup_ref(backup)
    with storage.open_repo(repo_path) as repo, storage.repo_lock(repo_path):
        delete_ref(repo, name, _existing(repo, name))


def _existing(repo, name: bytes) -> bytes:
    sha = storage.read_ref(repo, name)
    if sha is None:
        raise NotFound(f"No backup ref {name.decode()}")
    return sha


def _user_ref(ref: str) -> bytes:
    raw = ref.encode() if isinstance(ref, str) else b""
    if not raw.startswith(_USER_REFS) or not check_ref_format(raw):
        raise BadRequest("ref must be a full branch or tag ref (refs/heads/… or refs/tags/…)",
                         details={"ref": ["must be refs/heads/<name> or refs/tags/<name>"]})
    return raw


def _backup_ref(backup: str) -> bytes:
    raw = backup.encode() if isinstance(backup, str) else b""
    if not raw.startswith(BACKUP_PREFIX) or not check_ref_format(raw):
        raise BadRequest(f"backup must be a ref under {BACKUP_PREFIX.decode()}",
                         details={"backup": [f"must start with {BACKUP_PREFIX.decode()}"]})
    return raw


def _describe(name: bytes, sha: bytes) -> Backup:
    ref, _, stamp = name[len(BACKUP_PREFIX):].rpartition(b"/")
    return Backup(name.decode(), ref.decode(), sha.decode(), _parse_stamp(stamp.decode()))


def _parse_stamp(stamp: str) -> str | None:
    try:
        moment = datetime.strptime(stamp.split(".")[0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return moment.isoformat().replace("+00:00", "Z")
