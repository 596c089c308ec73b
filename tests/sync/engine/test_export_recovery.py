"""Export re-runs after a failure or a lost result: no duplicate commit, no false divergence, and
still a refusal when someone else's commit is on the remote."""

from __future__ import annotations

import pytest

from connections.providers.github import GitHubClient
from connections.providers.gitlab import GitLabClient
from core.errors import Diverged, ProviderRateLimited, ProviderUnavailable
from sync.engine import export_git, export_gitlab
from sync.engine.export_github import PLACEHOLDER
from sync.engine.types import ExportRequest
from tests.sync.engine.exporting import (
    GH,
    GL,
    export_request,
    instant_pacer,
    recorded,
    to_github,
    to_gitlab,
)
from tests.sync.engine.worktree import bare_ref, bare_tree


def _history(fake, remote: str, stop: str, branch: str = "main") -> list[str]:
    """First-parent commits from the branch head back to (not including) ``stop``."""
    repo, sha, out = fake.repos[remote].repo, fake.branch_sha(remote, branch), []
    while sha != stop:
        out.append(sha)
        sha = repo[sha.encode()].parents[0].decode()
    return out


def _gitlab_half_applied(env, gitlab_fake, monkeypatch):
    """A GitLab export of 1100 files whose second group of 500 kept failing with a 502 (past the
    in-place retries, so the run failed and the task retries it)."""
    gitlab_fake.create_project(GL, empty=True)
    wt = env.worktree(env.local, "w")
    wt.write("a.txt", "1\n")
    wt.commit()
    wt.push()
    first = to_gitlab(env)
    for i in range(1100):
        wt.write(f"f/{i:04}.txt", f"{i}\n")
    wt.commit()
    wt.push()
    real, calls = GitLabClient.create_commit, []

    def flaky(self, *args, **kwargs):
        calls.append(1)
        if len(calls) >= 2:
            raise ProviderUnavailable("GitLab is unavailable: 502")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(GitLabClient, "create_commit", flaky)
    with pytest.raises(ProviderUnavailable):
        to_gitlab(env, **recorded(first))
    monkeypatch.setattr(GitLabClient, "create_commit", real)
    assert len(_history(gitlab_fake, GL, first.remote_sha)) == 1  # group 1 landed
    return first


def test_gitlab_retry_after_a_failed_group_completes_the_export(env, gitlab_fake, monkeypatch):
    first = _gitlab_half_applied(env, gitlab_fake, monkeypatch)

    retry = to_gitlab(env, **recorded(first))  # the task retries with the same, unchanged state

    assert retry.status == "success" and retry.remote_sha == gitlab_fake.branch_sha(GL)
    assert gitlab_fake.tree_sha(GL) == bare_tree(env.local, env.home)
    assert len(_history(gitlab_fake, GL, first.remote_sha)) == 3  # 500 + 500 + 100, no repeat
    assert retry.files_changed == 600
    assert to_gitlab(env, **recorded(retry)).status == "skipped"


def test_gitlab_foreign_commit_on_top_of_a_partial_export_still_diverges(
        env, gitlab_fake, monkeypatch):
    first = _gitlab_half_applied(env, gitlab_fake, monkeypatch)
    files = {path: data for path, (_mode, data) in gitlab_fake.read_tree(GL).items()}
    theirs = gitlab_fake.commit(GL, {**files, "theirs.txt": b"x\n"}, "someone else")

    with pytest.raises(Diverged, match="moved since the last export"):
        to_gitlab(env, **recorded(first))
    assert gitlab_fake.branch_sha(GL) == theirs


def test_github_empty_repo_retry_after_a_long_rate_limit_leaves_no_placeholder(
        env, github_fake, fake_clock, monkeypatch):
    github_fake.create_repo(GH, empty=True)
    wt = env.worktree(env.local, "w")
    wt.write("a.txt", "1\n")
    wt.write("b.bin", b"\x00\x01")
    wt.commit()
    wt.push()

    def limited(self, *args, **kwargs):
        raise ProviderRateLimited("GitHub API rate limit exceeded", retry_after=1800)

    real = GitHubClient.create_blob
    monkeypatch.setattr(GitHubClient, "create_blob", limited)
    with pytest.raises(ProviderRateLimited):
        to_github(env, fake_clock)
    monkeypatch.setattr(GitHubClient, "create_blob", real)
    placeholder = github_fake.branch_sha(GH)
    assert placeholder is not None

    retry = to_github(env, fake_clock)  # rescheduled with the same (empty) state

    assert retry.status == "success" and retry.remote_sha == github_fake.branch_sha(GH)
    assert PLACEHOLDER not in github_fake.read_tree(GH)
    assert github_fake.tree_sha(GH) == bare_tree(env.local, env.home)
    assert _history(github_fake, GH, placeholder) == [retry.remote_sha]
    assert (retry.files_changed, retry.deleted) == (2, 0)


def _github_unrecorded(env, github_fake, fake_clock):
    github_fake.create_repo(GH, empty=True)
    wt = env.worktree(env.local, "w")
    wt.write("a.txt", "1\n")
    wt.commit()
    wt.push()
    first = to_github(env, fake_clock)
    wt.write("a.txt", "2\n")
    wt.commit()
    wt.push()
    second = to_github(env, fake_clock, **recorded(first))  # succeeded, but never recorded
    return first, second


def test_github_rerun_of_an_unrecorded_export_reports_it_without_a_new_commit(
        env, github_fake, fake_clock):
    first, second = _github_unrecorded(env, github_fake, fake_clock)

    again = to_github(env, fake_clock, **recorded(first))  # the redelivered task: old state

    # The push had landed: a success to record (with the commit), not "up to date".
    assert (again.status, again.remote_sha, again.commit_sha) == (
        "success", second.remote_sha, second.commit_sha)
    assert "recovered" in again.message and again.files_changed == 1
    assert github_fake.branch_sha(GH) == second.remote_sha
    assert to_github(env, fake_clock, **recorded(again)).status == "skipped"  # once recorded


def test_github_foreign_commit_after_an_unrecorded_export_still_diverges(
        env, github_fake, fake_clock):
    first, _second = _github_unrecorded(env, github_fake, fake_clock)
    github_fake.commit(GH, {"a.txt": b"2\n", "theirs.txt": b"x\n"}, "someone else")
    with pytest.raises(Diverged):
        to_github(env, fake_clock, **recorded(first))


def test_a_forged_trailer_naming_an_unknown_local_sha_still_diverges(env, github_fake,
                                                                     fake_clock):
    github_fake.create_repo(GH, empty=True)
    wt = env.worktree(env.local, "w")
    wt.write("a.txt", "1\n")
    wt.commit()
    wt.push()
    first = to_github(env, fake_clock)
    github_fake.commit(GH, {"a.txt": b"theirs\n"},
                       f"Sync from Coregit\n\nCoregit-Sync-Local-Sha: {'ab' * 20}\n")
    with pytest.raises(Diverged):
        to_github(env, fake_clock, **recorded(first))


def _git(env, access, session, **kw):
    req = ExportRequest(repo_path=env.local, branch="main", remote_name=access.url,
                        remote=access, remote_label="origin-test", **kw)
    return export_git.run_export(req, session)


def test_git_rerun_of_an_unrecorded_push_on_top_is_recognised(env, session):
    target, access = env.remote_repo()
    other = env.worktree(target, "someone-else")
    other.write("x.txt", "theirs\n")
    other.commit()
    other.push()
    wt = env.worktree(env.local, "w")
    wt.write("a.txt", "1\n")
    wt.commit()
    wt.push()
    first = _git(env, access, session, force=True)  # a Coregit commit on top of theirs
    wt.write("a.txt", "2\n")
    wt.commit()
    wt.push()
    second = _git(env, access, session, **recorded(first))  # pushed, never recorded
    assert second.remote_sha != second.commit_sha

    again = _git(env, access, session, **recorded(first))

    assert (again.status, again.remote_sha, again.commit_sha) == (
        "success", second.remote_sha, second.commit_sha)
    assert "recovered" in again.message
    assert bare_ref(target, env.home) == second.remote_sha
    assert _git(env, access, session, **recorded(again)).status == "skipped"  # once recorded


def test_git_unrecorded_fast_forward_then_more_local_work_exports_it(env, session):
    target, access = env.remote_repo()
    wt = env.worktree(env.local, "w")
    wt.write("a.txt", "1\n")
    wt.commit()
    wt.push()
    first = _git(env, access, session)
    wt.write("a.txt", "2\n")
    wt.commit()
    wt.push()
    _git(env, access, session, **recorded(first))  # fast-forwarded, never recorded
    wt.write("a.txt", "3\n")
    head = wt.commit()
    wt.push()

    again = _git(env, access, session, **recorded(first))

    assert again.status == "success" and bare_ref(target, env.home) == head


def test_git_foreign_commit_after_an_unrecorded_push_still_diverges(env, session):
    target, access = env.remote_repo()
    wt = env.worktree(env.local, "w")
    wt.write("a.txt", "1\n")
    wt.commit()
    wt.push()
    first = _git(env, access, session)
    wt.write("a.txt", "2\n")
    wt.commit()
    wt.push()
    _git(env, access, session, **recorded(first))
    other = env.worktree(target, "someone-else")
    other.pull()
    other.write("theirs.txt", "x\n")
    theirs = other.commit()
    other.push()
    with pytest.raises(Diverged):
        _git(env, access, session, **recorded(first))
    assert bare_ref(target, env.home) == theirs


def test_gitlab_retry_of_a_new_branch_started_from_the_default_branch(env, gitlab_fake,
                                                                      monkeypatch):
    gitlab_fake.create_project(GL, empty=False)  # main has a README; "feature" does not exist
    main = gitlab_fake.branch_sha(GL)
    wt = env.worktree(env.local, "w")
    for i in range(700):
        wt.write(f"f/{i:04}.txt", f"{i}\n")
    wt.commit()
    wt.push("feature")
    real = GitLabClient.create_commit

    def second_fails(self, *args, **kwargs):
        if gitlab_fake.branch_sha(GL, "feature") is not None:
            raise ProviderUnavailable("GitLab is unavailable: 502")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(GitLabClient, "create_commit", second_fails)
    req = export_request(env, GL, branch="feature")
    with pytest.raises(ProviderUnavailable):
        export_gitlab.run_export(req, GitLabClient("glpat-test"), pacer=instant_pacer())
    monkeypatch.setattr(GitLabClient, "create_commit", real)

    retry = export_gitlab.run_export(req, GitLabClient("glpat-test"), pacer=instant_pacer())

    assert retry.status == "success"
    assert gitlab_fake.tree_sha(GL, "feature") == bare_tree(env.local, env.home,
                                                             "refs/heads/feature")
    assert len(_history(gitlab_fake, GL, main, "feature")) == 2  # no repeated group


def test_gitlab_rerun_of_an_unrecorded_export_is_a_recovered_success(env, gitlab_fake):
    gitlab_fake.create_project(GL, empty=True)
    wt = env.worktree(env.local, "w")
    wt.write("a.txt", "1\n")
    wt.commit()
    wt.push()
    first = to_gitlab(env)
    wt.write("a.txt", "2\n")
    wt.write("b.txt", "new\n")
    wt.commit()
    wt.push()
    second = to_gitlab(env, **recorded(first))  # landed, then the worker died: never recorded

    again = to_gitlab(env, **recorded(first))

    assert (again.status, again.remote_sha, again.commit_sha) == (
        "success", second.remote_sha, second.commit_sha)
    assert "recovered" in again.message and (again.files_changed, again.deleted) == (2, 0)
    assert gitlab_fake.branch_sha(GL) == second.remote_sha
    assert to_gitlab(env, **recorded(again)).status == "skipped"


def test_gitlab_half_applied_export_is_completed_not_reported_recovered(env, gitlab_fake,
                                                                       monkeypatch):
    first = _gitlab_half_applied(env, gitlab_fake, monkeypatch)  # group 1 names the local head

    again = to_gitlab(env, **recorded(first))

    assert again.status == "success" and "recovered" not in again.message
    assert bare_tree(env.local, env.home) == gitlab_fake.tree_sha(GL)


def test_git_unrecorded_fast_forward_is_a_recovered_success(env, session):
    target, access = env.remote_repo()
    wt = env.worktree(env.local, "w")
    wt.write("a.txt", "1\n")
    wt.commit()
    wt.push()
    first = _git(env, access, session)
    wt.write("a.txt", "2\n")
    head = wt.commit()
    wt.push()
    _git(env, access, session, **recorded(first))  # fast-forwarded, never recorded

    again = _git(env, access, session, **recorded(first))

    assert (again.status, again.remote_sha, again.commit_sha) == ("success", head, head)
    assert "recovered" in again.message and again.files_changed == 1
    assert bare_ref(target, env.home) == head
    assert _git(env, access, session, **recorded(again)).status == "skipped"
