"""Mirror import from a real `git http-backend` through the API and a real worker."""

import pytest

from tests.support.gitcli import git
from tests.sync.mirror.history import (
    MATCHED,
    all_local_refs,
    bare_refs,
    build_history,
    by_ref,
    local_commit_on,
    local_refs,
    no_shallow,
    trigger,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_mirror_import_brings_every_matching_ref_with_the_remote_shas(
        api, repo, git_remote, mirror_config, live_worker):
    build_history(git_remote.work)
    resp = trigger(api, mirror_config)
    assert resp.status_code == 200, resp.json()
    body = resp.json()
    remote = bare_refs(git_remote.path, git_remote.home)
    assert set(remote) == MATCHED
    assert local_refs(repo) == remote  # same refs, same shas: the remote's own commits
    assert "refs/heads/feature/x" not in all_local_refs(repo)  # not matched by the patterns
    assert {r["status"] for r in body["refs"]} == {"created"} and len(body["refs"]) == 5
    assert body["synced"] is True and body["remote_sha"] == remote["refs/heads/main"]
    assert body["commit_sha"] == remote["refs/heads/main"] and body["files_changed"] == 2
    assert no_shallow(repo)
    # Merges and annotated tags came as they are: the CLI walks the full history locally.
    log = git("log", "--format=%P", "refs/heads/main", cwd=repo.disk_path,
              home=git_remote.home).stdout.decode().splitlines()
    assert len(log[0].split()) == 2 and len(log) == 4
    assert git("cat-file", "-t", "refs/tags/v2", cwd=repo.disk_path,
               home=git_remote.home).stdout.strip() == b"tag"
    git("fsck", "--strict", cwd=repo.disk_path, home=git_remote.home)

    again = trigger(api, mirror_config).json()
    assert again["synced"] is False and {r["status"] for r in again["refs"]} == {"unchanged"}
    history = api.get("/v1/repos/app/sync/history").json()["runs"]
    assert [len(r["refs"]) for r in history] == [5, 5]


def test_diverged_refused_then_forced_with_backup_then_restored(
        api, repo, git_remote, mirror_config, live_worker):
    wt = git_remote.work
    build_history(wt)
    assert trigger(api, mirror_config).status_code == 200
    mine = local_commit_on(repo, b"refs/heads/release/1")  # local work the remote lacks
    wt.git("checkout", "-q", "main")
    wt.write("a.txt", "3\n")
    wt.commit("c3")
    wt.git("tag", "-f", "v1")  # the lightweight tag moves
    wt.git("push", "-q", "--force", wt.remote, "refs/heads/main:refs/heads/main",
           "refs/tags/v1:refs/tags/v1")
    remote = bare_refs(git_remote.path, git_remote.home)

    refused = trigger(api, mirror_config)
    assert refused.status_code == 409, refused.json()
    body = refused.json()
    assert body["code"] == "sync.diverged"
    assert "refs/heads/release/1" in body["error"] and "refs/tags/v1" in body["error"]
    refs = by_ref(body)
    assert refs["refs/heads/release/1"]["status"] == "diverged"
    assert refs["refs/tags/v1"]["status"] == "diverged"
    assert refs["refs/heads/main"]["status"] == "updated"  # the others still update
    local = local_refs(repo)
    assert local["refs/heads/main"] == remote["refs/heads/main"]
    assert local["refs/heads/release/1"] == mine and local["refs/tags/v1"] != remote["refs/tags/v1"]
    row = api.get("/v1/repos/app/sync/history").json()["runs"][0]
    assert row["refs"] == body["refs"]
    assert (row["status"], row["error_code"]) == ("error", "sync.diverged"), row

    forced = trigger(api, mirror_config, force=True)
    assert forced.status_code == 200, forced.json()
    refs = by_ref(forced.json())
    assert refs["refs/heads/release/1"]["status"] == "backed_up"
    assert refs["refs/tags/v1"]["status"] == "backed_up"
    assert local_refs(repo) == remote
    backups = api.get("/v1/repos/app/sync/backups").json()["backups"]
    assert {b["ref"]: b["sha"] for b in backups} == {
        "refs/heads/release/1": mine, "refs/tags/v1": refs["refs/tags/v1"]["old_sha"]}
    backup = next(b for b in backups if b["ref"] == "refs/heads/release/1")
    assert backup["backup"] == refs["refs/heads/release/1"]["backup"]
    assert backup["backup"].startswith("refs/coregit/backup/refs/heads/release/1/")
    assert backup["created_at"].endswith("Z")

    restored = api.post("/v1/repos/app/sync/backups/restore",
                        {"ref": "refs/heads/release/1", "backup": backup["backup"]},
                        format="json")
    assert restored.status_code == 200, restored.json()
    assert restored.json()["new_sha"] == mine == local_refs(repo)["refs/heads/release/1"]
    kept = restored.json()["backup"]  # the tip the restore replaced is kept too
    assert all_local_refs(repo)[kept] == remote["refs/heads/release/1"]

    deleted = api.delete("/v1/repos/app/sync/backups", {"backup": kept}, format="json")
    assert deleted.status_code == 200 and kept not in all_local_refs(repo)
    missing = api.delete("/v1/repos/app/sync/backups", {"backup": kept}, format="json")
    assert missing.status_code == 404
    wrong = api.post("/v1/repos/app/sync/backups/restore",
                     {"ref": "refs/heads/main", "backup": backup["backup"]}, format="json")
    assert wrong.status_code == 400


def test_prune_deletes_vanished_refs_after_keeping_a_backup(
        api, repo, git_remote, mirror_config, live_worker):
    wt = git_remote.work
    build_history(wt)
    assert trigger(api, mirror_config).status_code == 200
    gone = local_refs(repo)["refs/heads/release/2"]
    wt.git("push", "-q", wt.remote, ":refs/heads/release/2", ":refs/tags/v1")

    kept = trigger(api, mirror_config).json()  # without prune, nothing is deleted
    assert "refs/heads/release/2" in local_refs(repo) and kept["synced"] is False

    assert api.patch("/v1/repos/app/sync/config", {"prune": True},
                     format="json").status_code == 200
    pruned = trigger(api, mirror_config)
    assert pruned.status_code == 200, pruned.json()
    refs = by_ref(pruned.json())
    assert refs["refs/heads/release/2"]["status"] == "deleted"
    assert refs["refs/tags/v1"]["status"] == "deleted"
    assert local_refs(repo) == bare_refs(git_remote.path, git_remote.home)
    assert all_local_refs(repo)[refs["refs/heads/release/2"]["backup"]] == gone


def test_backup_refs_are_hidden_from_git_clients(api, repo, git_remote, mirror_config,
                                                 live_worker, live_server, master_key, tmp_path):
    from tests.support.gitcli import authed_url

    wt = git_remote.work
    build_history(wt)
    assert trigger(api, mirror_config).status_code == 200
    local_commit_on(repo, b"refs/heads/main")
    assert trigger(api, mirror_config, force=True).status_code == 200
    assert any(r.startswith("refs/coregit/backup/") for r in all_local_refs(repo))
    url = authed_url(live_server.url, master_key, f"{repo.org.slug}/app.git")
    listed = git("ls-remote", url, home=tmp_path).stdout.decode()
    assert "refs/heads/main" in listed and "refs/coregit" not in listed
    # A mirror clone takes every ref it is shown: still none of the backups.
    git("clone", "-q", "--mirror", url, str(tmp_path / "clone.git"), home=tmp_path)
    cloned = git("for-each-ref", "--format=%(refname)", cwd=tmp_path / "clone.git",
                 home=tmp_path).stdout.decode().split()
    assert "refs/heads/main" in cloned and not [r for r in cloned if r.startswith(
        ("refs/coregit/", "refs/sync/"))]
    pushed = git("push", url, "refs/heads/main:refs/coregit/backup/x/1", cwd=repo.disk_path,
                 home=tmp_path, check=False)
    assert pushed.returncode != 0 and b"reserved for Coregit Sync" in pushed.stderr
