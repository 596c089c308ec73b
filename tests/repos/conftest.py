"""A hosted repository with a write key, served by the live server, and a pusher's clone."""

from __future__ import annotations

import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from accounts.principal import Principal
from accounts.selectors import api_key_by_raw
from accounts.services import api_key_create, org_create
from repos import storage
from repos.models import Repository
from repos.services import repository_create
from repos.signals import branch_pushed
from tests.support.gitcli import git, git_env


@dataclass
class Hosted:
    repo: Repository
    plain_url: str  # the repository's git URL
    key: str  # an API key that may push
    home: Path
    tmp: Path
    pushes: list[tuple[str, str | None, str | None]] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The URL git pushes to, with the key as the password."""
        scheme, rest = self.plain_url.split("://", 1)
        return f"{scheme}://git:{self.key}@{rest}"

    def ref(self, name: bytes) -> str | None:
        with storage.open_repo(self.repo.disk_path) as r:
            sha = storage.read_ref(r, name)
        return sha.decode() if sha else None

    def clone(self, name: str) -> Path:
        """A work tree whose ``main`` holds one more commit than the hosted ``main`` (or one)."""
        path = self.tmp / name
        git("init", str(path), home=self.home)
        if self.ref(b"refs/heads/main"):
            git("fetch", self.url, "main", cwd=path, home=self.home)
            git("reset", "--hard", "FETCH_HEAD", cwd=path, home=self.home)
        self.commit(path, name)
        return path

    def commit(self, work: Path, text: str) -> str:
        (work / f"{text}.txt").write_text(text + "\n")
        git("add", ".", cwd=work, home=self.home)
        git("commit", "-m", text, cwd=work, home=self.home)
        return git("rev-parse", "HEAD", cwd=work, home=self.home).stdout.decode().strip()

    def push_async(self, work: Path, *refspecs: str) -> subprocess.Popen:
        return subprocess.Popen(
            ["git", "push", "--porcelain", self.url, *refspecs], cwd=work,
            env=git_env(self.home), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )


@pytest.fixture
def hosted(live_server, tmp_path) -> Hosted:
    org, master = org_create(name="Acme")
    principal = Principal(key=api_key_by_raw(raw=master))
    repo = repository_create(principal=principal, slug="app", namespace="team")
    writer = api_key_create(org=org, name="w", scopes={"repos:team/app": ["write"]})[1]
    home = tmp_path / "home"
    home.mkdir()
    hosted = Hosted(repo, f"{live_server.url}/{org.slug}/team/app.git", writer, home, tmp_path)

    def record(sender, ref, old_sha, new_sha, **kwargs) -> None:
        hosted.pushes.append((ref, old_sha, new_sha))

    branch_pushed.connect(record)
    yield hosted
    branch_pushed.disconnect(record)


class Gate:
    """Once armed, holds the first request that reaches a point until the test releases it."""

    def __init__(self) -> None:
        self.armed, self.reached, self.released = (threading.Event() for _ in range(3))
        self._taken = threading.Lock()

    def hold(self) -> None:
        if self.armed.is_set() and self._taken.acquire(blocking=False):  # only the first waits
            self.reached.set()
            assert self.released.wait(300), "the test never released the held request"
