"""Post-push auto-export in mirror mode: a git push of any matching branch or tag (created,
moved or deleted) through our server queues one coalesced mirror export."""

import pytest

from sync.models import SyncRun
from tests.support.gitcli import authed_url
from tests.sync.conftest import PASSWORD, USER
from tests.sync.engine.worktree import WorkTree
from tests.sync.mirror.history import bare_refs, build_history, local_refs, wait_all_finished

pytestmark = pytest.mark.django_db(transaction=True)


def test_pushes_of_matching_refs_export_them_all(api, repo, git_remote, live_server,
                                                live_worker, master_key, org, tmp_path):
    api.post("/v1/repos/git-credentials", {"repo_id": repo.id, "username": USER,
             "password": PASSWORD}, format="json")
    made = api.post("/v1/repos/app/sync/config", {
        "remote": git_remote.url, "direction": "export", "auto_sync": True, "mode": "mirror",
        "branches": ["main", "release/*"], "tags": True, "prune": True}, format="json")
    assert made.status_code == 201, made.json()
    url = authed_url(live_server.url, master_key, f"{org.slug}/app.git")
    wt = WorkTree(tmp_path / "dev", git_remote.home, url)
    build_history(wt)  # pushes every branch and tag to Coregit
    assert SyncRun.objects.filter(trigger="push").exists()
    assert SyncRun.objects.filter(status="queued").count() <= 1  # coalesced
    wait_all_finished()
    assert bare_refs(git_remote.path, git_remote.home) == local_refs(repo)
    assert len(local_refs(repo)) == 5
    assert "refs/heads/feature/x" not in bare_refs_all(git_remote)

    before = SyncRun.objects.count()
    wt.git("push", "-q", url, "feature/x:refs/heads/feature/y")  # not matched: no run
    assert SyncRun.objects.count() == before
    wt.git("push", "-q", url, ":refs/tags/v1")  # a matching tag deleted: exported (pruned)
    assert SyncRun.objects.count() == before + 1
    wait_all_finished()
    remote = bare_refs(git_remote.path, git_remote.home)
    assert "refs/tags/v1" not in remote and remote == local_refs(repo)


def bare_refs_all(git_remote) -> str:
    from tests.support.gitcli import git

    return git("for-each-ref", cwd=git_remote.path, home=git_remote.home).stdout.decode()
