"""Run progress: recorded while a run executes (real worker, real git remote), read through the API."""

import os
import threading
import time

import pytest
from dulwich.objects import Tree

from connections.models import GitCredential
from repos import storage
from repos.models import Repository
from sync.models import SyncRun
from sync.run_progress import RunProgressRecorder
from tests.sync.conftest import PASSWORD, USER

pytestmark = pytest.mark.django_db(transaction=True)
DEADLINE = 120


def _wait(fetch, ok, what: str):
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = fetch()
        if ok(value):
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last: {value}")


def _finished(api, path):
    return _wait(lambda: api.get(path).json(), lambda b: b["status"] not in ("queued", "running"),
                 "the run to finish")


def test_import_progress_is_recorded_and_served(api, repo, git_remote, git_config, live_worker):
    git_remote.work.write("big.bin", os.urandom(300_000))
    git_remote.work.write("README.md", "hello\n")
    git_remote.work.commit("first")
    git_remote.work.push()

    ran = api.post("/v1/repos/app/sync", {"sync_id": git_config["id"]}, format="json")
    assert ran.status_code == 200, ran.json()
    run = api.get(f"/v1/repos/app/sync/runs/{ran.json()['run_id']}")
    assert run.status_code == 200
    body = run.json()
    assert body["id"] == ran.json()["run_id"] and body["status"] == "success"
    progress = body["progress"]
    assert progress["phases"] == ["resolving", "fetching", "indexing", "writing", "updating refs"]
    assert progress["phase"] == "updating refs"
    assert progress["bytes_received"] > 300_000  # the incompressible file travelled
    assert progress["objects_total"] == progress["objects_received"] >= 4  # commit, tree, 2 blobs
    assert progress["refs_updated"] == 1 and progress["requests"] >= 2
    assert progress["updated_at"].endswith("Z")

    history = api.get("/v1/repos/app/sync/history").json()["runs"]
    assert history[0]["id"] == body["id"] and history[0]["progress"] == progress


def test_progress_is_visible_while_the_fetch_is_in_flight(api, repo, git_remote, git_config,
                                                          live_worker):
    git_remote.work.write("big.bin", os.urandom(2_000_000))
    git_remote.work.commit("big")
    git_remote.work.push()
    git_remote.server.hold.set()  # the remote stops after the first chunk of the pack
    try:
        queued = api.post("/v1/repos/app/sync", {"sync_id": git_config["id"], "wait": False},
                          format="json")
        assert queued.status_code == 202
        path = f"/v1/repos/app/sync/runs/{queued.json()['run_id']}"
        assert git_remote.server.holding.wait(DEADLINE)
        mid = _wait(lambda: api.get(path).json(),
                    lambda b: (b["progress"] or {}).get("phase") == "fetching", "fetch progress")
        assert mid["status"] == "running" and mid["progress"]["bytes_received"] > 0
        assert mid["progress"]["bytes_received"] < 2_000_000
        assert mid["progress"]["objects_total"] >= 3
    finally:
        git_remote.server.release.set()
    done = _finished(api, path)
    assert done["status"] == "success"
    assert done["progress"]["bytes_received"] > 2_000_000
    assert done["progress"]["phase"] == "updating refs"


def test_export_progress_counts_uploads_on_the_namespaced_path(api, git_remote, live_worker):
    made = api.post("/v1/repos", {"slug": "app", "namespace": "team"}, format="json").json()
    repo = Repository.objects.get(id=made["id"])
    api.post("/v1/repos/git-credentials", {"repo_id": repo.id, "username": USER,
                                           "password": PASSWORD}, format="json")
    assert GitCredential.objects.filter(repository=repo).exists()
    # Seed the local repository by importing, then export a local change back.
    git_remote.work.write("a.txt", "one\n")
    git_remote.work.commit("one")
    git_remote.work.push()
    config = api.post("/v1/repos/team/app/sync/config", {"remote": git_remote.url},
                      format="json").json()
    assert api.post("/v1/repos/team/app/sync", {"sync_id": config["id"]},
                    format="json").status_code == 200
    with storage.open_repo(repo.disk_path) as r:
        head = storage.read_ref(r, b"refs/heads/main")
        tree = Tree()
        tree.add(b"b.bin", 0o100644, storage.write_blob(r, os.urandom(50_000)))
        r.object_store.add_object(tree)
        new = storage.write_commit(r, tree=tree.id, parents=[head], message="local\n")
        storage.cas_ref(r, b"refs/heads/main", head, new)
    assert api.patch("/v1/repos/team/app/sync/config", {"direction": "export"},
                     format="json").status_code == 200
    ran = api.post("/v1/repos/team/app/sync", {"sync_id": config["id"]}, format="json")
    assert ran.status_code == 200, ran.json()
    body = api.get(f"/v1/repos/team/app/sync/runs/{ran.json()['run_id']}").json()
    progress = body["progress"]
    assert "uploading" in progress["phases"] and progress["refs_updated"] == 1
    assert progress["requests"] >= 2 and progress["bytes_sent"] > 50_000  # the new blob went out
    # The run belongs to team/app: another repository's path does not find it.
    api.post("/v1/repos", {"slug": "other"}, format="json")
    assert api.get(f"/v1/repos/other/sync/runs/{body['id']}").status_code == 404


def test_recorder_writes_at_most_once_per_interval(repo):
    run = SyncRun.objects.create(org=repo.org, repository=repo, direction="import", branch="main",
                                 status="running", worker="w#1")
    recorder = RunProgressRecorder(run.pk, "w#1", interval=0.5)
    started = time.monotonic()
    with recorder.running():
        recorder.phase("fetching")

        def hammer():
            for _ in range(50_000):
                recorder.add(bytes_received=10)

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    elapsed = time.monotonic() - started
    assert recorder.writes <= elapsed / 0.5 + 2  # throttled: the loop writes once per interval
    run.refresh_from_db()
    assert run.progress["bytes_received"] == 4 * 50_000 * 10  # no count lost across threads
    assert run.progress["phases"] == ["fetching"]


def test_recorder_never_writes_over_another_claim(repo):
    run = SyncRun.objects.create(org=repo.org, repository=repo, direction="import", branch="main",
                                 status="running", worker="new#2")
    recorder = RunProgressRecorder(run.pk, "old#1")
    with recorder.running():
        recorder.phase("fetching")
    run.refresh_from_db()
    assert run.progress is None and run.status == "running" and run.worker == "new#2"


def _local_commit_with_binary(repo) -> None:
    with storage.open_repo(repo.disk_path) as r:
        head = storage.read_ref(r, b"refs/heads/main")
        tree = Tree()
        tree.add(b"README.md", 0o100644, storage.write_blob(r, b"hi\n"))
        tree.add(b"blob.bin", 0o100644, storage.write_blob(r, b"\x00" + os.urandom(40_000)))
        r.object_store.add_object(tree)
        new = storage.write_commit(r, tree=tree.id, parents=[head], message="local\n")
        storage.cas_ref(r, b"refs/heads/main", head, new)


def _export_progress(api, repo, fake, provider, token, remote):
    with fake.mock() as rsps:
        conn = api.post("/v1/connections", {"provider": provider, "label": "P",
                        "access_token": token}, format="json").json()["id"]
        sync_id = api.post("/v1/repos/app/sync/config", {"connection_id": conn,
                           "remote": remote}, format="json").json()["id"]
        assert api.post("/v1/repos/app/sync", {"sync_id": sync_id},
                        format="json").status_code == 200
        api.patch("/v1/repos/app/sync/config", {"direction": "export"}, format="json")
        _local_commit_with_binary(repo)
        before = len(rsps.calls)
        ran = api.post("/v1/repos/app/sync", {"sync_id": sync_id}, format="json")
        assert ran.status_code == 200, ran.json()
        calls = len(rsps.calls) - before
    progress = api.get(f"/v1/repos/app/sync/runs/{ran.json()['run_id']}").json()["progress"]
    assert progress["requests"] == calls  # every provider request of the run, counted
    assert progress["bytes_sent"] > 40_000  # the binary blob went out (base64)
    assert progress["files_total"] == 1
    return progress


def test_github_export_progress_counts_api_requests_and_bytes(api, repo, live_worker, tmp_path):
    from tests.fakes.github import FakeGitHub

    gh = FakeGitHub(tmp_path / "gh")
    gh.add_token("ghp_progress")
    gh.create_repo("octo/app", empty=True)
    gh.commit("octo/app", {"README.md": b"hi\n"}, "first")
    progress = _export_progress(api, repo, gh, "github", "ghp_progress", "octo/app")
    assert progress["phases"] == ["resolving", "uploading", "updating refs"]


def test_gitlab_export_progress_counts_api_requests_and_bytes(api, repo, live_worker, tmp_path):
    from tests.fakes.gitlab import FakeGitLab

    gl = FakeGitLab(tmp_path / "gl")
    gl.add_token("glpat-progress", username="tanuki")
    gl.create_project("grp/app", empty=True)
    gl.commit("grp/app", {"README.md": b"hi\n"}, "first")
    progress = _export_progress(api, repo, gl, "gitlab", "glpat-progress", "grp/app")
    assert progress["phases"] == ["resolving", "uploading"]  # the commit moves the branch


def test_runs_are_read_with_read_scope_and_hidden_from_other_orgs(api, repo, git_remote,
                                                                  git_config, live_worker,
                                                                  make_client, scoped_key):
    from accounts.services import org_create

    git_remote.work.write("a.txt", "a")
    git_remote.work.commit("a")
    git_remote.work.push()
    run_id = api.post("/v1/repos/app/sync", {"sync_id": git_config["id"]},
                      format="json").json()["run_id"]
    reader = make_client(scoped_key({"repos:app": ["read"]}))
    assert reader.get(f"/v1/repos/app/sync/runs/{run_id}").json()["progress"]["refs_updated"] == 1
    stranger = make_client(org_create(name="Other")[1])
    stranger.post("/v1/repos", {"slug": "app"}, format="json")  # same slug, other org
    assert stranger.get(f"/v1/repos/app/sync/runs/{run_id}").status_code == 404
