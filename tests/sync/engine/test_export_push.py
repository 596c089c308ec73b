"""Snapshot exports pushed over git smart HTTP (large changes, GitLab links) to the GitHub and
GitLab fakes: one commit on the remote tip, expected old value, token kept out of every message."""

from __future__ import annotations

import logging

import pytest
import requests

from connections.providers.github import GitHubClient
from connections.providers.gitlab import GitLabClient
from core.errors import Diverged, ProviderAuthError, RefConflict
from sync.engine import exactness
from sync.engine.export_push import GIT, run_export
from sync.engine.types import ExportRequest, local_trailer_sha
from tests.sync.engine.exporting import GH, GL, recorded
from tests.sync.engine.worktree import bare_tree, fill_rich_tree

TOKENS = {"github": "ghp_test", "gitlab": "glpat-test"}


@pytest.fixture(params=["github", "gitlab"])
def remote(request):
    """(provider, fake, remote name, git access) for an empty repository on each provider."""
    if request.param == "github":
        github_fake = request.getfixturevalue("github_fake")
        github_fake.create_repo(GH, empty=True)
        return "github", github_fake, GH, GitHubClient(TOKENS["github"]).git_access(GH)
    gitlab_fake = request.getfixturevalue("gitlab_fake")
    gitlab_fake.create_project(GL, empty=True)
    return "gitlab", gitlab_fake, GL, GitLabClient(TOKENS["gitlab"]).git_access(GL)


def _push(env, remote, session, git: str | None = GIT, **kw):
    _provider, _fake, name, access = remote
    req = ExportRequest(repo_path=env.local, branch="main", remote_name=name,
                        remote_label=f"remote {name}", remote=access, **kw)
    return run_export(req, session, git=git)


def _local_change(env) -> None:
    """One local commit on main (a.txt), the change the export is asked to send."""
    wt = env.worktree(env.local, "local-work")
    wt.write("a.txt", "mine\n")
    wt.commit()
    wt.push()


def _git_requests(fake) -> list[str]:
    return [endpoint for _m, _u, endpoint in fake.requests]


@pytest.mark.parametrize("git", [GIT, None], ids=["git-pack-objects", "dulwich-pack"])
def test_first_export_then_a_change_is_one_commit_each_in_two_requests(env, remote, session, git):
    provider, fake, name, _ = remote
    wt = env.worktree(env.local, "local-work")
    fill_rich_tree(wt, big_mb=1)
    first_local = wt.commit("rich")
    wt.push()

    first = _push(env, remote, session, git)

    assert first.status == "success" and first.commit_sha == first_local
    assert fake.tree_sha(name) == bare_tree(env.local, env.home)  # symlink and submodule too
    assert first.requests == 2 and len(fake.requests) == 2  # advertisement + receive-pack
    assert fake.branch_sha(name) == first.remote_sha != first_local  # a snapshot commit

    wt.write("README.md", "changed\n")
    wt.rm("big/large.dat")
    second_local = wt.commit("change")
    wt.push()
    second = _push(env, remote, session, git, **recorded(first))

    assert fake.tree_sha(name) == bare_tree(env.local, env.home)
    assert (second.files_changed, second.deleted) == (1, 1)
    tip = fake.repos[name].repo[second.remote_sha.encode()]
    assert tip.parents == [first.remote_sha.encode()]  # on top of the tip, nothing rewritten
    assert local_trailer_sha(tip.message) == second_local

    again = _push(env, remote, session, **recorded(second))
    assert again.status == "skipped" and fake.branch_sha(name) == second.remote_sha


def test_remote_with_foreign_commits_is_refused_and_kept(env, remote, session):
    _provider, fake, name, _ = remote
    foreign = fake.commit(name, {"THEIRS.md": b"theirs\n"}, "someone else")
    _local_change(env)

    with pytest.raises(Diverged):
        _push(env, remote, session)
    assert fake.branch_sha(name) == foreign

    forced = _push(env, remote, session, force=True)
    assert fake.repos[name].repo[forced.remote_sha.encode()].parents == [foreign.encode()]
    assert fake.tree_sha(name) == bare_tree(env.local, env.home)


class _MovesAfterAdvertisement(requests.Session):
    """Someone pushes to the remote between our ref advertisement and our pack."""

    def __init__(self, move) -> None:
        super().__init__()
        self._move = move

    def request(self, method, url, *args, **kwargs):
        resp = super().request(method, url, *args, **kwargs)
        if method == "GET" and url.endswith("service=git-receive-pack") and self._move:
            self._move()
            self._move = None
        return resp


def test_remote_moved_meanwhile_fails_and_nothing_is_overwritten(env, remote, caplog):
    _provider, fake, name, _ = remote
    base = fake.commit(name, {"base.txt": b"base\n"}, "base")
    _local_change(env)
    moved: list[str] = []

    def someone_pushes() -> None:
        moved.append(fake.commit(name, {"base.txt": b"base\n", "x.txt": b"theirs\n"}, "theirs"))

    caplog.set_level(logging.DEBUG)
    with _MovesAfterAdvertisement(someone_pushes) as session, pytest.raises(RefConflict) as err:
        _push(env, remote, session, last_remote_sha=base)

    assert moved and fake.branch_sha(name) == moved[0]  # their commit stays the tip
    assert set(fake.read_tree(name)) == {"base.txt", "x.txt"}
    assert "nothing was overwritten" in str(err.value)
    assert TOKENS[remote[0]] not in str(err.value) + caplog.text


def test_a_bad_token_is_an_auth_error_that_never_shows_the_token(env, remote, session, caplog):
    provider, fake, name, access = remote
    _local_change(env)
    wrong = "ghp_wrong_secret_value" if provider == "github" else "glpat-wrong-secret"
    bad = type(access)(url=access.url, username=access.username, password=wrong)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ProviderAuthError) as err:
        _push(env, (provider, fake, name, bad), session)

    assert wrong not in str(err.value) + caplog.text and fake.branch_sha(name) is None


def test_push_reason_large_by_files_or_bytes_and_links_only_for_gitlab(env):
    wt = env.worktree(env.local, "local-work")
    fill_rich_tree(wt, big_mb=1)  # 12 paths, a symlink and a submodule link among them
    wt.commit()
    wt.push()

    def reason(provider: str, files: int = 10**6, size: int = 10**12) -> str | None:
        return exactness.push_reason(env.local, "main", None, provider=provider,
                                     min_files=files, min_bytes=size)

    assert reason("gitlab") == exactness.LINKS
    assert reason("github") is None
    assert reason("github", files=12) == exactness.LARGE
    assert reason("github", files=13) is None
    assert reason("github", size=1024**2) == exactness.LARGE
