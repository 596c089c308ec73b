"""GitLab export: a failed commit group is retried in place; a commit that landed is not repeated."""

from __future__ import annotations

import os

import pytest

from tests.sync.engine.exporting import GL, recorded, to_gitlab
from tests.sync.engine.worktree import bare_tree

COMMITS = "POST /projects/:id/repository/commits"


def _history(fake, stop: str) -> list[str]:
    repo, sha, out = fake.repos[GL].repo, fake.branch_sha(GL), []
    while sha != stop:
        out.append(sha)
        sha = repo[sha.encode()].parents[0].decode()
    return out


def _three_groups(env, gitlab_fake):
    """A first export, then 1,100 changed files (text and binary): three groups of <= 500."""
    gitlab_fake.create_project(GL, empty=True)
    wt = env.worktree(env.local, "w")
    wt.write("a.txt", "1\n")
    wt.commit()
    wt.push()
    first = to_gitlab(env)
    for i in range(1100):
        data = b"\x00" + os.urandom(64) if i % 10 == 0 else f"{i}\n".encode()
        wt.write(f"f/{i:04}.dat", data)
    wt.commit()
    wt.push()
    return first


@pytest.mark.parametrize(("failure", "after", "posts"), [
    (502, False, 4),  # refused before anything happened: sent again
    ("reset", False, 4),
    ("timeout", True, 3),  # it landed, only the answer was lost: found, not sent again
    (502, True, 3),
])
def test_a_failed_group_is_retried_in_place_without_a_duplicate_commit(env, gitlab_fake, failure,
                                                                      after, posts):
    first = _three_groups(env, gitlab_fake)
    gitlab_fake.fail_nth(2, failure, endpoint=COMMITS, after=after)
    before = len(gitlab_fake.sent(COMMITS))

    result = to_gitlab(env, **recorded(first))  # one run

    assert result.status == "success" and result.remote_sha == gitlab_fake.branch_sha(GL)
    assert gitlab_fake.tree_sha(GL) == bare_tree(env.local, env.home)
    assert len(_history(gitlab_fake, first.remote_sha)) == 3  # one commit per group, no repeat
    sent = gitlab_fake.sent(COMMITS)[before:]
    assert len(sent) == posts
    succeeded = [r.body_sha for r in sent if r.status == 201]
    assert len(succeeded) == len(set(succeeded)) == 3 - (after is True)
