"""GitHub export: a failed call mid-export is retried in place, and nothing that succeeded is resent.

The stateful fake fails the N-th request to one endpoint with a 502, a reset connection or a read
timeout (optionally after carrying the request out: the write landed, only its answer was lost).
"""

from __future__ import annotations

import os

import pytest

from tests.fakes.base import Logged
from tests.sync.engine.exporting import GH, to_github
from tests.sync.engine.worktree import bare_tree

BLOBS = "POST /repos/{owner}/{repo}/git/blobs"
TREES = "POST /repos/{owner}/{repo}/git/trees"
COMMITS = "POST /repos/{owner}/{repo}/git/commits"
PATCH_REF = "PATCH /repos/{owner}/{repo}/git/refs/{ref}"
OK = (200, 201)


def _change(env) -> None:
    """30 binary files (blobs) and 400 text files (three create-tree chunks of at most 150)."""
    wt = env.worktree(env.local, "w")
    for i in range(30):
        wt.write(f"bin/{i}.dat", b"\x00" + os.urandom(2048))
    for i in range(400):
        wt.write(f"src/{i % 7}/f{i}.txt", f"line {i}\n" * 20)
    wt.commit()
    wt.push()


def _resent_after_success(log: list[Logged], endpoint: str) -> list[str]:
    """Bodies sent again to `endpoint` after an earlier copy had been answered 2xx."""
    done, again = set(), []
    for entry in log:
        if entry.endpoint != endpoint:
            continue
        if entry.body_sha in done:
            again.append(entry.body_sha)
        if entry.status in OK:
            done.add(entry.body_sha)
    return again


def _exported(env, github_fake, result) -> None:
    assert result.status == "success"
    assert github_fake.tree_sha(GH) == bare_tree(env.local, env.home)
    assert github_fake.branch_sha(GH) == result.remote_sha


@pytest.mark.parametrize("failure", [502, "reset", "timeout"])
@pytest.mark.parametrize(("endpoint", "nth"), [(BLOBS, 7), (TREES, 2)])
def test_a_failed_blob_or_tree_chunk_is_retried_in_place(env, github_fake, fake_clock, failure,
                                                         endpoint, nth):
    github_fake.create_repo(GH, empty=False)
    _change(env)
    github_fake.fail_nth(nth, failure, endpoint=endpoint)

    result = to_github(env, fake_clock, force=True)  # one run, no task-level retry

    _exported(env, github_fake, result)
    for what in (BLOBS, TREES):
        assert _resent_after_success(github_fake.log, what) == []
    blobs, trees = github_fake.sent(BLOBS), github_fake.sent(TREES)
    assert len({b.body_sha for b in blobs}) == 30
    assert len(blobs) == 30 + (endpoint == BLOBS)  # only the failed request went twice
    assert len(trees) == 3 + (endpoint == TREES)
    assert [r.status for r in github_fake.sent(COMMITS)] == [201]


@pytest.mark.parametrize("endpoint", [BLOBS, TREES, COMMITS])
def test_a_write_whose_answer_was_lost_is_repeated_once_harmlessly(env, github_fake, fake_clock,
                                                                   endpoint):
    """The request landed and only the answer timed out: content addressing makes the repeat
    a no-op, and it is the only body sent twice."""
    github_fake.create_repo(GH, empty=False)
    _change(env)
    github_fake.fail_nth(2 if endpoint != COMMITS else 1, "timeout", endpoint=endpoint,
                         after=True)

    result = to_github(env, fake_clock, force=True)

    _exported(env, github_fake, result)
    sent = github_fake.sent(endpoint)
    assert len(sent) - len({r.body_sha for r in sent}) == 1
    assert _resent_after_success(github_fake.log, endpoint) == []


def test_a_ref_update_whose_answer_was_lost_is_not_reported_as_a_conflict(env, github_fake,
                                                                          fake_clock):
    github_fake.create_repo(GH, empty=False)
    _change(env)
    github_fake.fail_nth(1, "reset", endpoint=PATCH_REF, after=True)

    result = to_github(env, fake_clock, force=True)

    _exported(env, github_fake, result)
    repo = github_fake.repos[GH].repo
    assert len(repo[result.remote_sha.encode()].parents) == 1  # one commit on top, no duplicate


def test_retries_are_bounded(env, github_fake, fake_clock):
    from core.errors import ProviderUnavailable

    github_fake.create_repo(GH, empty=False)
    _change(env)
    head = github_fake.branch_sha(GH)
    github_fake.fail_next(503, times=100, endpoint=TREES)

    with pytest.raises(ProviderUnavailable):
        to_github(env, fake_clock, force=True)

    assert github_fake.branch_sha(GH) == head
    assert 2 <= len(github_fake.sent(TREES)) <= 10
