from dataclasses import dataclass
from pathlib import Path

import pytest

from connections.models import GitCredential
from repos import storage
from repos.models import Repository
from tests.support.git_http_backend import serve_git
from tests.sync.engine.worktree import WorkTree

USER, PASSWORD = "sync-bot", "s3cret-pa55word"


@dataclass
class GitRemote:
    server: object
    path: Path
    url: str
    work: WorkTree
    home: Path


@pytest.fixture
def git_remote(tmp_path):
    """A real `git http-backend` remote with Basic auth and a work tree that pushes to it."""
    home = tmp_path / "home"
    home.mkdir()
    with serve_git(tmp_path / "served", username=USER, password=PASSWORD) as server:
        path = server.create_repo("upstream.git")
        work = WorkTree(tmp_path / "work", home, path)
        yield GitRemote(server=server, path=path, url=server.url("upstream.git"), work=work,
                        home=home)


def diverge(repo, git_remote: GitRemote) -> bytes:
    """Local work on main (a commit nobody pushed), then a remote commit on top of the last import:
    the next import would overwrite one of them. The local commit's sha."""
    with storage.open_repo(repo.disk_path) as r:
        head = storage.read_ref(r, b"refs/heads/main")
        mine = storage.write_commit(r, tree=storage.commit_tree(r, head), parents=[head],
                                    message="local work\n")
        storage.cas_ref(r, b"refs/heads/main", head, mine)
    git_remote.work.write("a.txt", "2")
    git_remote.work.commit("two")
    git_remote.work.push()
    return mine


@pytest.fixture
def repo(api):
    body = api.post("/v1/repos", {"slug": "app"}, format="json").json()
    return Repository.objects.get(id=body["id"])


@pytest.fixture
def git_config(api, repo, git_remote):
    """An import config for the generic provider, with the repository's git credential."""
    cred = api.post("/v1/repos/git-credentials",
                    {"repo_id": repo.id, "username": USER, "password": PASSWORD}, format="json")
    assert cred.status_code == 201
    made = api.post("/v1/repos/app/sync/config", {"remote": git_remote.url}, format="json")
    assert made.status_code == 201, made.json()
    assert GitCredential.objects.filter(repository=repo).exists()
    return made.json()
