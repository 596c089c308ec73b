"""Restart our own Redis (the broker) while runs are queued, while one runs, and while it is down.

The API, beat and a prefork worker use a ``redis-server`` of this test on a free port. One import
is held mid-fetch by the remote (so it is running), two more are queued behind the busy worker;
Redis is then killed (as a crash: without persistence every queued message is gone, with
append-only persistence the queue survives), a fourth trigger arrives while it is down, and Redis
comes back. Every trigger the API answered 2xx must end ``success``, with its one import commit.
"""

from __future__ import annotations

import time

import pytest

from sync.models import SyncRun
from tests.faults.conftest import (
    RECOVERY_DEADLINE,
    Remote,
    create_synced_repo,
    database_url_of_tests,
    elapsed_since,
    new_service_env,
    start_stack,
    stop_all,
    wait_finished,
)
from tests.support.figures import record_figure
from tests.support.processes import Process, RedisServer, celery_worker, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("persistent", [False, True], ids=["no-persistence", "append-only"])
def test_no_answered_trigger_is_lost_across_a_redis_restart(
    workers: list[Process], remote: Remote, master_key, tmp_path, persistent
):
    redis = RedisServer(tmp_path / "redis", persistent=persistent)
    redis.start()
    stack = None
    try:
        senv = new_service_env(tmp_path / "services", database_url=database_url_of_tests(),
                               broker_url=redis.url)
        senv.data_dir.mkdir()
        worker = celery_worker(senv, "worker").start()  # gets ready while the API starts
        workers.append(worker)
        stack = start_stack(senv)
        worker.wait_log(" ready.", timeout=120)
        _restart_with_runs_in_flight(stack, redis, remote, master_key, persistent)
    finally:
        if stack is not None:
            stop_all(stack.api_process, stack.beat)
        redis.stop()


def _restart_with_runs_in_flight(stack, redis: RedisServer, remote: Remote, key: str,
                                 persistent: bool) -> None:
    api = stack.client(key)
    remote.work.write("README.md", "# upstream\n")
    remote.work.commit("upstream")
    remote_sha = remote.work.push()
    slugs = ["held", "queued-1", "queued-2", "during-outage"]
    configs = {slug: create_synced_repo(api, remote, slug)[1]["id"] for slug in slugs}

    def trigger(slug: str):
        return api.call("POST", f"/repos/{slug}/sync", {"sync_id": configs[slug], "wait": False})

    gate = remote.server.gate("POST", "/git-upload-pack", "partial", body_contains=b"want ")
    answered: dict[str, str] = {}
    resp = trigger("held")
    assert resp.status_code == 202 and "warnings" not in resp.json(), resp.text
    answered["held"] = resp.json()["run_id"]
    wait_until(gate.reached.is_set, timeout=120, what="the held import to fetch")
    for slug in ("queued-1", "queued-2"):
        resp = trigger(slug)
        assert resp.status_code == 202 and "warnings" not in resp.json(), resp.text
        answered[slug] = resp.json()["run_id"]

    redis.stop()
    restarted_at = time.monotonic()
    resp = trigger("during-outage")
    # The run is stored in PostgreSQL: a broker outage alone does not refuse the trigger, but the
    # caller is told that it waits for the broker.
    assert resp.status_code == 202 and resp.json().get("warnings"), resp.text
    answered["during-outage"] = resp.json()["run_id"]
    redis.start()
    gate.release()

    finished = {slug: wait_finished(api, slug, run_id, timeout=RECOVERY_DEADLINE)
                for slug, run_id in answered.items()}
    took = elapsed_since(restarted_at)
    assert {slug: run["status"] for slug, run in finished.items()} == {
        slug: "success" for slug in answered}, finished
    assert all(run["remote_sha"] == remote_sha for run in finished.values())
    assert not SyncRun.objects.filter(status__in=["queued", "running"]).exists()
    for slug in answered:
        assert _import_commits(slug) == 1
    mode = "append-only" if persistent else "no persistence"
    record_figure(f"Redis restart ({mode}), {len(answered)} answered triggers", took,
                  success=len(finished))


def _import_commits(slug: str) -> int:
    from repos.models import Repository
    from repos.storage import open_repo, read_ref

    disk = Repository.objects.get(slug=slug).disk_path
    with open_repo(disk) as repo:
        head = read_ref(repo, b"refs/heads/main")
        count = 0
        for entry in repo.get_walker(include=[head]):
            count += entry.commit.message.count(b"Coregit-Sync-Remote-Sha:")
    return count
