"""Backup refs a mirror run kept: list (selector-like read), restore and delete (services)."""

from __future__ import annotations

from dataclasses import asdict

from repos.models import Repository
from sync.engine import backups


def sync_backup_list(*, repo: Repository) -> list[dict]:
    return [asdict(b) for b in backups.list_backups(repo.disk_path)]


def sync_backup_restore(*, repo: Repository, ref: str, backup: str) -> dict:
    return asdict(backups.restore_backup(repo.disk_path, ref=ref, backup=backup))


def sync_backup_delete(*, repo: Repository, backup: str) -> None:
    backups.delete_backup(repo.disk_path, backup=backup)
