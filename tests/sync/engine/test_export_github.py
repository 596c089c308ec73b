"""GitHub export against the colleagues' stateful fake (tests/fakes/github.py) and real client."""

from __future__ import annotations

import os

import pytest

from connections.providers.github import GitHubClient
from core.errors import Diverged
from sync.engine.api_common import Pacer
from sync.engine.export_github import PLACEHOLDER, run_export
from sync.engine.types import ExportRequest
from tests.fakes.github import FakeGitHub
from tests.sync.engine.worktree import bare_tree, fill_rich_tree

TOKEN = "ghp_test"
REMOTE = "octo/repo"


@pytest.fixture
def clock(fake_clock):
    return fake_clock


@pytest.fixture
def github(tmp_path, clock):
    fake = FakeGitHub(tmp_path / "gh", clock=clock)
    fake.add_token(TOKEN)
    with fake.mock():
        yield fake
    fake.close()


def _export(env, github, clock, **kw):
    req = ExportRequest(repo_path=env.local, branch="main", remote_name=REMOTE,
                        remote_label="GitHub octo/repo", **kw)
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    before = len(github.requests)
    result = run_export(req, GitHubClient(TOKEN), pacer=pacer)
    return result, github.requests[before:], pacer


def _writes(requests, what: str) -> int:
    return sum(1 for method, _url, endpoint in requests if endpoint.endswith(what)
               and method in ("POST", "PATCH", "PUT"))


def test_empty_repository_gets_the_exact_tree_and_no_placeholder(env, github, clock):
    github.create_repo(REMOTE, empty=True)
    wt = env.worktree(env.local, "local-work")
    fill_rich_tree(wt, big_mb=2)
    local = wt.commit()
    wt.push()

    result, reqs, _ = _export(env, github, clock)

    assert github.tree_sha(REMOTE) == bare_tree(env.local, env.home)
    assert PLACEHOLDER not in github.read_tree(REMOTE)
    assert result.commit_sha == local and result.remote_sha == github.branch_sha(REMOTE)
    assert _writes(reqs, "/git/blobs") == 2  # logo.bin and the 2 MB random file only
    assert result.files_changed == 12


def test_thousand_changed_text_files_take_at_most_15_requests(env, github, clock):
    github.create_repo(REMOTE, empty=True)
    wt = env.worktree(env.local, "local-work")
    for i in range(1000):
        wt.write(f"src/m{i % 30}/f{i}.py", f"print({i})\n")
    wt.commit()
    wt.push()
    first, reqs, _ = _export(env, github, clock)
    assert len(reqs) <= 15, reqs
    for i in range(1000):
        wt.write(f"src/m{i % 30}/f{i}.py", f"print({i} + 1)\n")
    wt.commit()
    wt.push()

    second, reqs, _ = _export(env, github, clock, last_remote_sha=first.remote_sha,
                              last_local_sha=first.commit_sha)

    assert len(reqs) <= 15, [r[2] for r in reqs]
    assert second.requests == len(reqs)
    assert (second.files_changed, second.deleted) == (1000, 0)
    assert github.tree_sha(REMOTE) == bare_tree(env.local, env.home)
    assert github.repos[REMOTE].repo[github.branch_sha(REMOTE).encode()].parents == [
        first.remote_sha.encode()]


def test_nothing_the_remote_already_has_is_uploaded(env, github, clock):
    github.create_repo(REMOTE, empty=True)
    wt = env.worktree(env.local, "local-work")
    blob = os.urandom(50_000)
    wt.write("a.bin", blob)
    wt.write("keep.txt", "same\n")
    wt.commit()
    wt.push()
    first, _, _ = _export(env, github, clock)
    wt.write("copy-of-a.bin", blob)  # same content under a new path
    wt.rm("keep.txt")
    wt.write("b.bin", b"\x00" + os.urandom(10))
    wt.commit()
    wt.push()

    second, reqs, _ = _export(env, github, clock, last_remote_sha=first.remote_sha,
                              last_local_sha=first.commit_sha)

    assert _writes(reqs, "/git/blobs") == 1  # only b.bin
    assert (second.files_changed, second.deleted) == (2, 1)
    assert github.tree_sha(REMOTE) == bare_tree(env.local, env.home)
    again, reqs, _ = _export(env, github, clock, last_remote_sha=second.remote_sha,
                             last_local_sha=second.commit_sha)
    assert again.status == "skipped" and _writes(reqs, "") == 0


def test_remote_moved_refuses_then_force_commits_on_top(env, github, clock):
    github.create_repo(REMOTE, empty=False)
    wt = env.worktree(env.local, "local-work")
    wt.write("a.txt", "local\n")
    wt.commit()
    wt.push()
    with pytest.raises(Diverged, match="never exported"):
        _export(env, github, clock)
    theirs = github.branch_sha(REMOTE)

    forced, _, _ = _export(env, github, clock, force=True)

    assert github.repos[REMOTE].repo[forced.remote_sha.encode()].parents == [theirs.encode()]
    assert github.tree_sha(REMOTE) == bare_tree(env.local, env.home)
    github.commit(REMOTE, {"other.txt": b"someone else\n"})
    with pytest.raises(Diverged, match="moved since the last export"):
        _export(env, github, clock, last_remote_sha=forced.remote_sha,
                last_local_sha=forced.commit_sha)


def test_blob_uploads_are_paced_and_rate_limits_waited_out(env, github, clock):
    github.create_repo(REMOTE, empty=True)
    wt = env.worktree(env.local, "local-work")
    for i in range(120):
        wt.write(f"bin/{i}.dat", b"\x00" + os.urandom(64))
    wt.commit()
    wt.push()
    github.secondary_limit(retry_after=30, times=1)

    result, reqs, pacer = _export(env, github, clock)

    assert github.tree_sha(REMOTE) == bare_tree(env.local, env.home)
    assert _writes(reqs, "/git/blobs") >= 120
    assert pacer.slept >= 60  # 120+ content requests cannot fit in one minute at < 80/min
    assert github.secondary_limit_hits == 1  # only the injected one: pacing avoided the rest


def test_a_long_rate_limit_is_raised_for_the_task_to_reschedule(env, github, clock):
    from core.errors import ProviderRateLimited

    github.create_repo(REMOTE, empty=False)
    wt = env.worktree(env.local, "local-work")
    wt.write("a.txt", "local\n")
    wt.commit()
    wt.push()
    import time

    github.rate_limit(remaining=0, reset=int(time.time()) + 3600, times=50)
    started = clock()
    with pytest.raises(ProviderRateLimited) as err:
        _export(env, github, clock, force=True)
    assert err.value.retry_after > 3000
    assert clock() - started < 60  # the worker did not sit out the hour
