from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from connections.providers.base import GitAccess
from repos import storage
from tests.support.git_http_backend import GitHttpServer, serve_git
from tests.sync.engine.worktree import WorkTree

USER, PASSWORD = "sync-bot", "s3cret-pa55word"


@dataclass
class Env:
    tmp: Path
    home: Path
    server: GitHttpServer
    local: Path  # the Coregit-side bare repository

    def remote_repo(self, name: str = "remote.git") -> tuple[Path, GitAccess]:
        path = self.server.create_repo(name)
        return path, GitAccess(url=self.server.url(name), username=USER, password=PASSWORD)

    def worktree(self, remote: Path | str, name: str = "work") -> WorkTree:
        return WorkTree(self.tmp / name, self.home, remote)


@pytest.fixture
def env(tmp_path: Path) -> Env:
    home = tmp_path / "home"
    home.mkdir()
    local = tmp_path / "local.git"
    storage.init_bare(local, default_branch="main")
    with serve_git(tmp_path / "served", username=USER, password=PASSWORD) as server:
        yield Env(tmp_path, home, server, local)


@pytest.fixture
def session() -> requests.Session:
    with requests.Session() as s:
        yield s


class FakeClock:
    """A clock the pacer sleeps on instantly (rate-limit waits cost no test time)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def github_fake(tmp_path: Path, fake_clock: FakeClock):
    from tests.fakes.github import FakeGitHub

    fake = FakeGitHub(tmp_path / "gh", clock=fake_clock)
    fake.add_token("ghp_test")
    with fake.mock():
        yield fake
    fake.close()


@pytest.fixture
def gitlab_fake(tmp_path: Path):
    from tests.fakes.gitlab import FakeGitLab

    fake = FakeGitLab(tmp_path / "gl")
    fake.max_actions = 500
    fake.add_token("glpat-test")
    with fake.mock():
        yield fake
    fake.close()
