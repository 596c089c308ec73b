"""Imports through the service, checked with native git: pushed history stays whole, tracking
refs go with their config, and an unrecorded first import does not block the repository."""

import io
import shutil

import pytest
from django.core.management import call_command
from dulwich.objects import Tree

from repos import storage
from sync.engine import tracking
from sync.executor import execute
from sync.models import SyncConfig, SyncRun, SyncState
from tests.support.gitcli import authed_url, git
from tests.sync.engine.worktree import bare_tree

pytestmark = pytest.mark.django_db(transaction=True)


def _trigger(api, config):
    return api.post("/v1/repos/app/sync", {"sync_id": config["id"]}, format="json")


def _remote_history(git_remote, commits: int = 3) -> str:
    for i in range(commits):
        git_remote.work.write("a.txt", f"{i}\n")
        git_remote.work.write(f"f{i}.txt", f"file {i}\n")
        git_remote.work.commit(f"remote {i}")
    return git_remote.work.push()


def _count(path, rev: str, home) -> int:
    return int(git("rev-list", "--count", rev, cwd=path, home=home).stdout)


def test_pushing_a_history_that_contains_an_imported_commit_keeps_it_whole(
        api, org, master_key, repo, git_remote, git_config, live_server, live_worker, tmp_path):
    imported = _remote_history(git_remote)
    assert _trigger(api, git_config).status_code == 200
    home = git_remote.home
    url = authed_url(live_server.url, master_key, f"{org.slug}/app.git")
    # The user pushes the remote's own history (which contains the imported commit) here.
    git_remote.work.git("push", "-q", url, "HEAD:refs/heads/upstream")
    disk = repo.disk_path

    assert git("rev-parse", "--is-shallow-repository", cwd=disk, home=home).stdout == b"false\n"
    assert _count(disk, "refs/heads/upstream", home) == 3
    assert _count(disk, "refs/heads/main", home) == 1  # the import commit (its tree, not history)
    git("clone", "-q", url, "fresh", cwd=tmp_path, home=home)
    assert _count(tmp_path / "fresh", "origin/upstream", home) == 3
    copy = tmp_path / "copy.git"
    shutil.copytree(disk, copy)
    git("gc", "-q", "--prune=now", cwd=copy, home=home)
    assert git("fsck", cwd=copy, home=home, check=False).returncode == 0
    assert _count(copy, "refs/heads/upstream", home) == 3
    assert git("rev-parse", "upstream", cwd=copy, home=home).stdout.decode().strip() == imported


def _tracking_refs(repo, config_id: str) -> dict:
    ref = f"refs/sync/{config_id}/remote".encode()
    with storage.open_repo(repo.disk_path) as r:
        return {"area": tracking.read_ref(r, ref), "git": storage.read_ref(r, ref)}


def test_tracking_refs_are_deleted_with_their_config(api, repo, git_remote, git_config,
                                                     live_worker):
    remote_sha = _remote_history(git_remote, 1)
    assert _trigger(api, git_config).status_code == 200
    assert _tracking_refs(repo, git_config["id"]) == {"area": remote_sha.encode(), "git": None}

    assert api.delete("/v1/repos/app/sync/config").status_code in (200, 204)

    assert _tracking_refs(repo, git_config["id"]) == {"area": None, "git": None}


def test_tracking_refs_are_deleted_when_the_remote_changes(api, repo, git_remote, git_config,
                                                           live_worker):
    _remote_history(git_remote, 1)
    assert _trigger(api, git_config).status_code == 200
    other = git_remote.server.create_repo("other.git")
    changed = api.patch("/v1/repos/app/sync/config",
                        {"remote": git_remote.server.url(other.name)}, format="json")
    assert changed.status_code == 200, changed.json()

    assert _tracking_refs(repo, git_config["id"]) == {"area": None, "git": None}


def test_an_unrecorded_first_import_does_not_block_the_repository(api, repo, git_remote,
                                                                  git_config, live_worker):
    _remote_history(git_remote, 2)
    config = SyncConfig.objects.get(pk=git_config["id"])
    # A worker wrote the first import's commit and died before recording it: no state row.
    crashed = execute(config, SyncRun(config=config, branch="main", direction="import"), None)
    assert crashed.status == "success" and not SyncState.objects.filter(config=config).exists()
    git_remote.work.write("a.txt", "the remote moved on\n")
    git_remote.work.commit("moved")
    moved = git_remote.work.push()

    answer = _trigger(api, git_config)

    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["synced"] is True and body["remote_sha"] == moved
    with storage.open_repo(repo.disk_path) as r:
        head = storage.read_ref(r, b"refs/heads/main")
        assert r[head].parents == [crashed.commit_sha.encode()]
        assert r[head].tree.decode() == bare_tree(git_remote.path, git_remote.home)
    state = SyncState.objects.get(config=config)
    assert (state.last_remote_sha, state.last_local_sha) == (moved, head.decode())


def test_an_export_whose_push_landed_before_a_crash_is_recorded_as_recovered(
        api, org, master_key, repo, git_remote, git_config, live_server, live_worker, tmp_path):
    SyncConfig.objects.update(direction="export")
    config = SyncConfig.objects.get(pk=git_config["id"])
    home = git_remote.home
    url = authed_url(live_server.url, master_key, f"{org.slug}/app.git")
    git("clone", "-q", url, "local-work", cwd=tmp_path, home=home)
    (tmp_path / "local-work" / "out.txt").write_text("exported\n")
    git("add", "-A", cwd=tmp_path / "local-work", home=home)
    git("commit", "-qm", "local", cwd=tmp_path / "local-work", home=home)
    git("push", "-q", "origin", "HEAD:main", cwd=tmp_path / "local-work", home=home)
    local = git("rev-parse", "HEAD", cwd=tmp_path / "local-work", home=home).stdout.decode().strip()
    # The push reached the remote, then the worker died before recording the run.
    landed = execute(config, SyncRun(config=config, branch="main", direction="export"), None)
    assert landed.status == "success" and not SyncState.objects.filter(config=config).exists()

    answer = _trigger(api, git_config)

    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert (body["synced"], body["commit_sha"], body["remote_sha"]) == (True, local, local)
    run = SyncRun.objects.get(pk=body["run_id"])
    assert run.status == "success" and "recovered" in run.message
    state = SyncState.objects.get(config=config)
    assert (state.last_remote_sha, state.last_local_sha) == (local, local)
    assert git("rev-parse", "main", cwd=git_remote.path, home=home).stdout.decode().strip() == local


def test_repair_command_takes_earlier_imports_marks_out_of_git_view(api, repo, tmp_path):
    with storage.open_repo(repo.disk_path) as r:  # what an earlier version's import left
        tree = Tree()
        tree.add(b"x.txt", 0o100644, storage.write_blob(r, b"x"))
        r.object_store.add_object(tree)
        tree = tree.id
        parent = storage.write_commit(r, tree=tree, parents=[], message="remote parent\n")
        tip = storage.write_commit(r, tree=tree, parents=[parent], message="remote tip\n")
        storage.cas_ref(r, b"refs/sync/sync_old/remote", None, tip, message=b"fetched")
    (repo.disk_path / "objects" / parent.decode()[:2] / parent.decode()[2:]).unlink()
    (repo.disk_path / "shallow").write_bytes(tip + b"\n")
    out = io.StringIO()

    call_command("repair_sync_storage", stdout=out)

    assert "Repaired 1 of 1 repositories" in out.getvalue()
    home = tmp_path
    assert git("rev-parse", "--is-shallow-repository", cwd=repo.disk_path,
               home=home).stdout == b"false\n"
    assert git("for-each-ref", "refs/sync/", cwd=repo.disk_path, home=home).stdout == b""
    with tracking.open_repo(repo.disk_path) as r:
        assert tracking.read_ref(r, b"refs/sync/sync_old/remote") == tip
        assert tracking.shallow_marks(r) == {tip}
    assert git("fsck", cwd=repo.disk_path, home=home, check=False).returncode == 0
