"""Provider edge cases of the API exports: racing pushes, missing branches, truncated trees and
ref updates GitHub refuses for good."""

from __future__ import annotations

import pytest

from connections.providers.gitlab import GitLabClient
from core.errors import ProviderRejected, RefConflict
from tests.sync.engine.exporting import GH, GL, recorded, to_github, to_gitlab
from tests.sync.engine.worktree import bare_tree

PATCH_REF = "PATCH /repos/{owner}/{repo}/git/refs/{ref}"
GET_TREE = "GET /repos/{owner}/{repo}/git/trees/{tree_sha}"










def _one_file(env, text: str = "1\n"):
    wt = env.worktree(env.local, "w")
    wt.write("a.txt", text)
    wt.commit()
    wt.push()
    return wt


def test_gitlab_push_racing_the_export_is_not_overwritten(env, gitlab_fake, monkeypatch):
    gitlab_fake.create_project(GL, empty=True)
    wt = _one_file(env, "base\n")
    first = to_gitlab(env)
    wt.write("a.txt", "local edit\n")
    wt.commit()
    wt.push()
    real, landed = GitLabClient.get_tree, []

    def racing(self, *args, **kwargs):
        out = real(self, *args, **kwargs)  # the push lands after the listing, before the write
        landed.append(gitlab_fake.commit(GL, {"a.txt": b"THEIR edit\n", "t.txt": b"theirs\n"}))
        return out

    monkeypatch.setattr(GitLabClient, "get_tree", racing)
    with pytest.raises(RefConflict, match="moved during export"):
        to_gitlab(env, **recorded(first))
    assert gitlab_fake.branch_sha(GL) == landed[0]
    assert gitlab_fake.read_tree(GL)["a.txt"][1] == b"THEIR edit\n"


def test_gitlab_missing_branch_with_the_start_content_is_created(env, gitlab_fake):
    gitlab_fake.create_project(GL, empty=True)
    wt = _one_file(env)
    main = to_gitlab(env)
    wt.push("feature")  # the local feature branch equals main

    result = to_gitlab(env, "feature")

    assert result.status == "success" and result.remote_sha == main.remote_sha
    assert gitlab_fake.branch_sha(GL, "feature") == main.remote_sha
    assert (result.files_changed, result.deleted) == (0, 0)
    assert to_gitlab(env, "feature", **recorded(result)).status == "skipped"


def _many_dirs(env, github_fake, fake_clock):
    github_fake.create_repo(GH, empty=True)
    wt = env.worktree(env.local, "w")
    for d in range(5):
        for i in range(5):
            wt.write(f"d{d}/{i}.txt", f"{d}-{i}\n")
    wt.commit()
    wt.push()
    first = to_github(env, fake_clock)
    github_fake.max_tree_entries = 8  # the recursive listing (30 entries) is now truncated
    return wt, first


def test_github_truncated_tree_with_a_deletion_uses_the_local_trees(env, github_fake,
                                                                    fake_clock):
    wt, first = _many_dirs(env, github_fake, fake_clock)
    wt.rm("d3/2.txt")
    wt.write("d0/1.txt", "changed\n")
    wt.commit()
    wt.push()
    before = github_fake.calls_by_endpoint[GET_TREE]

    result = to_github(env, fake_clock, **recorded(first))

    assert github_fake.tree_sha(GH) == bare_tree(env.local, env.home)
    assert (result.files_changed, result.deleted) == (1, 1)
    assert github_fake.calls_by_endpoint[GET_TREE] - before == 1  # only the truncated listing


def test_github_truncated_unknown_tree_is_walked_directory_by_directory(env, github_fake,
                                                                        fake_clock):
    wt, first = _many_dirs(env, github_fake, fake_clock)
    files = {f"d{d}/{i}.txt": f"{d}-{i}\n".encode() for d in range(5) for i in range(5)}
    github_fake.commit(GH, {**files, "d1/0.txt": b"theirs\n"}, "someone else")
    wt.rm("d3/2.txt")
    wt.write("d0/1.txt", "changed\n")
    wt.commit()
    wt.push()
    before = github_fake.calls_by_endpoint[GET_TREE]

    result = to_github(env, fake_clock, force=True, **recorded(first))

    assert github_fake.tree_sha(GH) == bare_tree(env.local, env.home)
    assert (result.files_changed, result.deleted) == (2, 1)  # d0/1, d1/0 restored; d3/2 gone
    assert github_fake.calls_by_endpoint[GET_TREE] - before == 3  # recursive, root, d1


def test_github_protected_branch_is_a_rejection_with_the_reason(env, github_fake, fake_clock):
    github_fake.create_repo(GH, empty=True)
    _one_file(env)
    github_fake.fail_next(422, endpoint=PATCH_REF, body={
        "message": "Protected branch update failed for refs/heads/main.", "status": "422"})
    with pytest.raises(ProviderRejected, match="Protected branch update failed") as err:
        to_github(env, fake_clock)
    assert not isinstance(err.value, RefConflict)


def test_github_forbidden_ref_update_is_a_rejection(env, github_fake, fake_clock):
    github_fake.create_repo(GH, empty=True)
    _one_file(env)
    github_fake.fail_next(403, endpoint=PATCH_REF,
                          body={"message": "Resource not accessible by integration"})
    with pytest.raises(ProviderRejected, match="not accessible"):
        to_github(env, fake_clock)


def test_github_non_fast_forward_is_a_ref_conflict(env, github_fake, fake_clock):
    github_fake.create_repo(GH, empty=True)
    _one_file(env)
    github_fake.fail_next(422, endpoint=PATCH_REF, body={"message": "Update is not a fast forward"})
    with pytest.raises(RefConflict, match="moved during export"):
        to_github(env, fake_clock)
