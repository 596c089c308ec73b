"""Shared helpers for the API-export tests: requests, recorded state, one call per provider."""

from __future__ import annotations

from connections.providers.github import GitHubClient
from connections.providers.gitlab import GitLabClient
from sync.engine import export_github, export_gitlab
from sync.engine.api_common import Pacer
from sync.engine.types import ExportRequest, SyncResult
from tests.sync.engine.conftest import FakeClock

GL, GH = "group/proj", "octo/repo"


def export_request(env, remote: str, branch: str = "main", **kw) -> ExportRequest:
    return ExportRequest(repo_path=env.local, branch=branch, remote_name=remote,
                         remote_label=remote, **kw)


def recorded(result: SyncResult) -> dict:
    """What the service stores after a run: the ExportRequest fields of the next run."""
    return {"last_remote_sha": result.remote_sha, "last_local_sha": result.commit_sha}


def to_github(env, clock, **kw) -> SyncResult:
    return export_github.run_export(export_request(env, GH, **kw), GitHubClient("ghp_test"),
                                    pacer=Pacer(clock=clock, sleep=clock.sleep))


def instant_pacer(per_minute: int = 10_000) -> Pacer:
    """Retry backoffs and rate-limit waits cost no test time (a fake clock that sleeps instantly)."""
    clock = FakeClock()
    return Pacer(per_minute, clock=clock, sleep=clock.sleep)


def to_gitlab(env, branch: str = "main", **kw) -> SyncResult:
    return export_gitlab.run_export(export_request(env, GL, branch, **kw),
                                    GitLabClient("glpat-test"), pacer=instant_pacer())
