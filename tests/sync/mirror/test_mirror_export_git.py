"""Mirror export to a real `git http-backend`: every matching ref pushed with its expected old
value, never forced blindly; forced overwrites keep the remote's old tip as a local backup."""

import pytest

from repos import storage
from tests.support.gitcli import git
from tests.sync.engine.worktree import WorkTree
from tests.sync.mirror.history import (
    all_local_refs,
    bare_refs,
    build_history,
    by_ref,
    local_commit_on,
    local_refs,
    trigger,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def exported(api, repo, git_remote, mirror_config, live_worker):
    """Mirror-imported from upstream, then the config turned into an export to an empty repo."""
    build_history(git_remote.work)
    assert trigger(api, mirror_config).status_code == 200
    target = git_remote.server.create_repo("target.git")
    assert api.patch("/v1/repos/app/sync/config", {
        "direction": "export", "remote": git_remote.server.url("target.git")},
        format="json").status_code == 200
    first = trigger(api, mirror_config)
    assert first.status_code == 200, first.json()
    return target, first.json()


def test_export_round_trip_gives_identical_refs(api, repo, git_remote, exported):
    target, body = exported
    upstream = bare_refs(git_remote.path, git_remote.home)
    assert bare_refs(target, git_remote.home) == local_refs(repo) == upstream
    assert {r["status"] for r in body["refs"]} == {"created"} and body["synced"] is True
    assert body["direction"] == "export" and body["remote_sha"] == upstream["refs/heads/main"]
    mine = local_commit_on(repo, b"refs/heads/main")
    again = trigger(api, {"id": body_id(api)})
    assert again.status_code == 200, again.json()
    refs = by_ref(again.json())
    assert refs["refs/heads/main"] == {"ref": "refs/heads/main", "old_sha": upstream[
        "refs/heads/main"], "new_sha": mine, "status": "updated"}
    assert refs["refs/heads/release/1"]["status"] == "unchanged"
    assert bare_refs(target, git_remote.home) == local_refs(repo)


def test_remote_that_moved_is_refused_per_ref_then_forced_with_a_local_backup(
        api, repo, git_remote, exported, tmp_path):
    target, _ = exported
    other = WorkTree(tmp_path / "other", git_remote.home, target)
    other.pull("release/1")
    theirs = other.commit("their work")  # someone else pushes to the target meanwhile
    other.push("release/1")
    mine = local_commit_on(repo, b"refs/heads/main")
    with storage.open_repo(repo.disk_path) as r:  # and the local tag v1 moves
        old_v1 = storage.read_ref(r, b"refs/tags/v1")
        storage.cas_ref(r, b"refs/tags/v1", old_v1, mine.encode())

    refused = trigger(api, {"id": body_id(api)})
    assert refused.status_code == 409, refused.json()
    assert refused.json()["code"] == "sync.diverged"
    refs = by_ref(refused.json())
    assert refs["refs/heads/release/1"]["status"] == "diverged"
    assert refs["refs/tags/v1"]["status"] == "diverged"
    assert refs["refs/heads/main"]["status"] == "updated"
    remote = bare_refs(target, git_remote.home)
    assert remote["refs/heads/release/1"] == theirs and remote["refs/heads/main"] == mine
    assert remote["refs/tags/v1"] == old_v1.decode()

    forced = trigger(api, {"id": body_id(api)}, force=True)
    assert forced.status_code == 200, forced.json()
    refs = by_ref(forced.json())
    assert refs["refs/heads/release/1"]["status"] == "backed_up"
    assert bare_refs(target, git_remote.home) == local_refs(repo)
    backup = refs["refs/heads/release/1"]["backup"]
    assert all_local_refs(repo)[backup] == theirs  # their commit is kept here, not lost
    listed = api.get("/v1/repos/app/sync/backups").json()["backups"]
    assert {b["backup"] for b in listed} == {backup, refs["refs/tags/v1"]["backup"]}


def test_remote_rewound_or_deleted_since_last_seen_is_refused_then_forced(
        api, repo, git_remote, exported):
    """The expected old value is the one this config last saw: a remote ref someone rewound to
    a commit our history holds, or deleted, is not silently fast-forwarded or recreated."""
    target, _ = exported
    local = local_refs(repo)
    parent = git("rev-parse", "refs/heads/release/1^", cwd=target,
                 home=git_remote.home).stdout.decode().strip()
    git("update-ref", "refs/heads/release/1", parent, cwd=target, home=git_remote.home)
    git("update-ref", "-d", "refs/heads/release/2", cwd=target, home=git_remote.home)

    refused = trigger(api, {"id": body_id(api)})
    assert refused.status_code == 409, refused.json()
    refs = by_ref(refused.json())
    assert refs["refs/heads/release/1"] == {"ref": "refs/heads/release/1", "old_sha": parent,
                                            "new_sha": local["refs/heads/release/1"],
                                            "status": "diverged"}
    assert refs["refs/heads/release/2"]["status"] == "diverged"
    remote = bare_refs(target, git_remote.home)
    assert remote["refs/heads/release/1"] == parent and "refs/heads/release/2" not in remote

    forced = trigger(api, {"id": body_id(api)}, force=True)
    assert forced.status_code == 200, forced.json()
    refs = by_ref(forced.json())
    assert refs["refs/heads/release/1"]["status"] == "backed_up"
    assert all_local_refs(repo)[refs["refs/heads/release/1"]["backup"]] == parent
    assert refs["refs/heads/release/2"]["status"] == "created"
    assert bare_refs(target, git_remote.home) == local_refs(repo) == local
    again = trigger(api, {"id": body_id(api)}).json()
    assert again["synced"] is False and {r["status"] for r in again["refs"]} == {"unchanged"}


def test_our_own_unrecorded_push_is_fast_forwarded_from_not_refused(
        api, repo, git_remote, exported):
    """A run that pushed and crashed before recording leaves the remote ahead of what the config
    last saw, on our own history: the next export fast-forwards from there (a rewind, above, is
    still refused)."""
    target, _ = exported
    pushed = local_commit_on(repo, b"refs/heads/release/1")
    git("fetch", "-q", str(repo.disk_path), "refs/heads/release/1:refs/heads/release/1",
        cwd=target, home=git_remote.home)  # what our crashed run's push left on the remote
    assert bare_refs(target, git_remote.home)["refs/heads/release/1"] == pushed
    mine = local_commit_on(repo, b"refs/heads/release/1")

    answer = trigger(api, {"id": body_id(api)})
    assert answer.status_code == 200, answer.json()
    assert by_ref(answer.json())["refs/heads/release/1"] == {
        "ref": "refs/heads/release/1", "old_sha": pushed, "new_sha": mine, "status": "updated"}
    assert bare_refs(target, git_remote.home) == local_refs(repo)


def test_export_prune_deletes_remote_refs_deleted_locally(api, repo, git_remote, exported):
    target, _ = exported
    with storage.open_repo(repo.disk_path) as r:
        gone = storage.read_ref(r, b"refs/heads/release/2")
        assert r.refs.remove_if_equals(b"refs/heads/release/2", gone)
    kept = trigger(api, {"id": body_id(api)}).json()
    assert "refs/heads/release/2" in bare_refs(target, git_remote.home) and not kept["synced"]
    api.patch("/v1/repos/app/sync/config", {"prune": True}, format="json")
    pruned = trigger(api, {"id": body_id(api)})
    assert pruned.status_code == 200, pruned.json()
    assert by_ref(pruned.json())["refs/heads/release/2"]["status"] == "deleted"
    assert bare_refs(target, git_remote.home) == local_refs(repo)
    assert gone.decode() in all_local_refs(repo).values()  # kept as a backup ref


def body_id(api) -> str:
    return api.get("/v1/repos/app/sync/config").json()["config"]["id"]
