"""A fleet of sync configs made in bulk (no remote check, no disk): for tick and history scale."""

from __future__ import annotations

from accounts.models import Organization
from repos.models import Repository
from sync.models import SyncConfig


def make_fleet(org: Organization, n: int, *, prefix: str, poll_every: int = 2,
               minutes: int = 5) -> list[SyncConfig]:
    """``n`` generic-git import configs, one per new repository; every ``poll_every``-th one
    polls every ``minutes`` minutes, the others do not poll."""
    repos = Repository.objects.bulk_create(
        [Repository(org=org, slug=f"{prefix}-{i}") for i in range(n)], batch_size=2000)
    return SyncConfig.objects.bulk_create(
        [SyncConfig(org=org, repository=repo, provider=SyncConfig.Provider.GIT,
                    remote=f"https://git.example.com/{prefix}/{i}.git", branch="main",
                    poll_interval_minutes=minutes if i % poll_every == 0 else None)
         for i, repo in enumerate(repos)], batch_size=2000)
