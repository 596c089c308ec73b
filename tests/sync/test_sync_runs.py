"""Triggers through the API, executed by a real Celery worker against a real git http-backend."""

import threading
import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import ProviderAuthError
from repos import storage
from sync import executor
from sync.engine.types import SyncResult
from sync.models import SyncConfig, SyncRun, SyncState
from sync.run_reaper import sync_runs_reap
from sync.run_services import sync_run_request
from tests.fixtures import live_queue, route_tasks_to
from tests.sync.conftest import diverge
from tests.sync.engine.worktree import bare_tree

pytestmark = pytest.mark.django_db(transaction=True)


def _local(repo, ref=b"refs/heads/main"):
    with storage.open_repo(repo.disk_path) as r:
        sha = storage.read_ref(r, ref)
        return sha, (storage.commit_tree(r, sha) if sha else None)


def _trigger(api, config, **extra):
    return api.post("/v1/repos/app/sync", {"sync_id": config["id"], **extra}, format="json")


def test_import_then_skip_then_history(api, repo, git_remote, git_config, live_worker):
    git_remote.work.write("README.md", "hello\n")
    git_remote.work.write("run.sh", "#!/bin/sh\n", executable=True)
    remote_sha = git_remote.work.commit("first")
    git_remote.work.push()

    first = _trigger(api, git_config)
    assert first.status_code == 200, first.json()
    body = first.json()
    assert body["synced"] is True and body["remote_sha"] == remote_sha
    assert (body["files_changed"], body["deleted"], body["direction"]) == (2, 0, "import")
    local_sha, local_tree = _local(repo)
    assert body["commit_sha"] == local_sha.decode()
    assert local_tree.decode() == bare_tree(git_remote.path, git_remote.home)

    again = _trigger(api, git_config).json()
    assert again["synced"] is False and again["commit_sha"] is None

    git_remote.work.rm("run.sh")
    git_remote.work.commit("drop script")
    git_remote.work.push()
    third = _trigger(api, git_config).json()
    assert (third["files_changed"], third["deleted"]) == (0, 1)

    runs = api.get("/v1/repos/app/sync/history").json()["runs"]
    assert [r["status"] for r in runs] == ["success", "skipped", "success"]
    assert {r["trigger"] for r in runs} == {"api"} and runs[0]["completed_at"].endswith("Z")
    config = api.get("/v1/repos/app/sync/config").json()["config"]
    assert config["last_error"] is None and config["last_synced_at"]


def test_divergence_refused_then_forced_keeping_history(api, repo, git_remote, git_config,
                                                        live_worker):
    git_remote.work.write("a.txt", "1")
    git_remote.work.commit("one")
    git_remote.work.push()
    assert _trigger(api, git_config).status_code == 200
    # Someone pushes to the Coregit repository directly: the import must not overwrite it.
    mine = diverge(repo, git_remote)

    refused = _trigger(api, git_config)
    assert refused.status_code == 409
    assert refused.json()["run_id"].startswith("run_") and "force" in refused.json()["error"]
    assert _local(repo)[0] == mine
    assert api.get("/v1/repos/app/sync/config").json()["config"]["last_error"]

    forced = _trigger(api, git_config, force=True)
    assert forced.status_code == 200, forced.json()
    new_head, tree = _local(repo)
    with storage.open_repo(repo.disk_path) as r:
        assert storage.is_ancestor(r, mine, new_head)  # history kept: a new commit on top
    assert tree.decode() == bare_tree(git_remote.path, git_remote.home)
    assert api.get("/v1/repos/app/sync/config").json()["config"]["last_error"] is None


def test_export_to_generic_git(api, repo, git_remote, git_config, live_worker, tmp_path):
    SyncConfig.objects.update(direction="export")
    with storage.open_repo(repo.disk_path) as r:
        blob = storage.write_blob(r, b"exported\n")
        from dulwich.objects import Tree

        tree = Tree()
        tree.add(b"out.txt", 0o100644, blob)
        r.object_store.add_object(tree)
        sha = storage.write_commit(r, tree=tree.id, parents=[], message="local\n")
        storage.cas_ref(r, b"refs/heads/main", None, sha)
    resp = _trigger(api, git_config)
    assert resp.status_code == 200, resp.json()
    assert resp.json()["direction"] == "export" and resp.json()["synced"] is True
    assert bare_tree(git_remote.path, git_remote.home) == tree.id.decode()


def test_wait_false_answers_202_and_identical_queued_run_is_reused(api, repo, git_config,
                                                                   unconsumed_queue):
    # No worker here: the runs stay queued.
    first = _trigger(api, git_config, wait=False)
    second = _trigger(api, git_config, wait=False)
    assert first.status_code == second.status_code == 202
    assert first.json() == {"run_id": first.json()["run_id"], "status": "queued"}
    assert second.json()["run_id"] == first.json()["run_id"]
    forced = _trigger(api, git_config, wait=False, force=True)
    assert forced.json()["run_id"] != first.json()["run_id"]
    # Proof that no worker took them: both task messages still wait in the queue.
    assert sorted(unconsumed_queue.run_ids()) == sorted([first.json()["run_id"],
                                                         forced.json()["run_id"]])
    assert set(SyncRun.objects.values_list("status", flat=True)) == {"queued"}
    SyncRun.objects.all().delete()


def test_two_simultaneous_triggers_make_exactly_one_commit(api, repo, git_remote, git_config,
                                                           live_worker, make_client, master_key):
    git_remote.work.write("x.txt", "x")
    git_remote.work.commit("x")
    git_remote.work.push()
    results = []

    def fire():
        client = make_client(master_key)
        results.append(client.post("/v1/repos/app/sync", {"sync_id": git_config["id"]},
                                   format="json"))
        from django.db import connection

        connection.close()

    threads = [threading.Thread(target=fire) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results) == [200, 200]
    with storage.open_repo(repo.disk_path) as r:
        head = storage.read_ref(r, b"refs/heads/main")
        history = [e.commit.id for e in r.get_walker(include=[head])]
    assert len(history) == 1  # one import commit, not two
    statuses = sorted(SyncRun.objects.values_list("status", flat=True))
    assert statuses in (["skipped", "success"], ["success"])


def _wait_finished(run_id: str, seconds: float = 120) -> SyncRun:
    deadline = time.monotonic() + seconds
    while not (run := SyncRun.objects.get(pk=run_id)).finished:
        assert time.monotonic() < deadline, f"run {run_id} still {run.status}"
        time.sleep(0.05)
    return run


def test_a_run_whose_worker_died_is_finished_by_another_worker_not_failed(
        repo, git_remote, git_config, _live_worker_session, _task_routes, unconsumed_queue,
        settings):
    git_remote.work.write("a.txt", "1")
    git_remote.work.commit("one")
    git_remote.work.push()
    run = sync_run_request(config=SyncConfig.objects.get(), trigger="webhook")
    assert unconsumed_queue.run_ids() == [run.pk]  # its message sits where no worker reads
    # Its worker took it and died: the message is unacknowledged, the heartbeat went stale.
    stale = timezone.now() - timedelta(seconds=settings.COREGIT_RUN_STALE_SECONDS + 1)
    SyncRun.objects.filter(pk=run.pk).update(status="running", worker="dead#1",
                                             worker_process="elsewhere:1", heartbeat_at=stale)
    with route_tasks_to(live_queue(_task_routes)):
        assert sync_runs_reap()["lost"] == 1
        run = _wait_finished(run.pk)
    assert (run.status, run.lost_count, run.error_code) == ("success", 1, "")
    assert SyncConfig.objects.get().last_error is None


@dataclass
class HeldRun:
    """A run the live worker has started and holds until ``finish``."""

    run: SyncRun
    release: threading.Event

    def finish(self) -> SyncRun:
        self.release.set()
        return _wait_finished(self.run.pk)


@pytest.fixture
def held_run(live_worker, monkeypatch):
    """Start a run whose execution waits for ``finish``, then returns or raises ``outcome``, so a
    test can change the config while the run is in flight."""

    def start(outcome: SyncResult | Exception, trigger: str) -> HeldRun:
        started, release = threading.Event(), threading.Event()

        def held(config, run, state):
            started.set()
            assert release.wait(60)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

        monkeypatch.setattr(executor, "execute", held)
        run = sync_run_request(config=SyncConfig.objects.get(), trigger=trigger)
        assert started.wait(60), "the worker never started the run"
        return HeldRun(run, release)

    return start


def _main_and_dev(git_remote) -> None:
    git_remote.work.write("README.md", "hello\n")
    git_remote.work.commit("first")
    git_remote.work.push("main")
    git_remote.work.push("dev")


def test_a_patch_made_while_a_run_fails_is_kept(api, repo, git_config, held_run):
    SyncConfig.objects.update(consecutive_failures=9)  # one more automatic failure pauses
    held = held_run(ProviderAuthError("The git host refused the credentials", status=401),
                    trigger="webhook")
    # The operator fixes things meanwhile: a PATCH resets the failure count and resumes.
    patched = api.patch("/v1/repos/app/sync/config", {"overwrite_diverged": True}, format="json")
    assert patched.status_code == 200
    assert held.finish().error_code == "provider.auth"
    config = SyncConfig.objects.get()
    assert config.overwrite_diverged is True
    assert (config.consecutive_failures, config.auto_sync_paused) == (1, False)
    assert config.last_error == "The git host refused the credentials"


def test_a_run_that_succeeds_after_a_patch_reset_the_config_leaves_it_reset(
        api, repo, git_remote, git_config, held_run):
    _main_and_dev(git_remote)
    held = held_run(SyncResult(status="success", remote_sha="a" * 40, commit_sha="b" * 40),
                    trigger="api")
    # Following another branch resets the sync state; the old branch's run must not refill it.
    assert api.patch("/v1/repos/app/sync/config", {"branch": "dev"}, format="json").status_code == 200
    assert held.finish().status == "success"
    config = SyncConfig.objects.get()
    assert config.branch == "dev" and config.last_synced_at is None
    assert not SyncState.objects.filter(config=config).exists()


def test_a_run_that_fails_after_a_patch_changed_the_branch_leaves_the_config_clean(
        api, repo, git_remote, git_config, held_run):
    _main_and_dev(git_remote)
    held = held_run(ProviderAuthError("The git host refused the credentials"), trigger="schedule")
    # The old branch's failure says nothing about the new branch: no last_error, no pause count.
    assert api.patch("/v1/repos/app/sync/config", {"branch": "dev"}, format="json").status_code == 200
    finished = held.finish()
    assert finished.status == "error" and finished.message == "The git host refused the credentials"
    config = SyncConfig.objects.get()
    assert config.branch == "dev" and config.last_error is None
    assert (config.consecutive_failures, config.auto_sync_paused) == (0, False)
