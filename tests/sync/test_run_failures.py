"""Retries, permanent failures, crash-and-redeliver and the reaper (service level, no worker).

No worker reads the queue these tests publish to: each run's task message is still there after
the test drove the run itself (``unconsumed_queue``).
"""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core.errors import ProviderAuthError, ProviderRateLimited, ProviderUnavailable
from repos import storage
from sync import executor, run_services
from sync.models import SyncConfig, SyncRun
from sync.run_reaper import sync_runs_reap
from tests.support.tcp_proxy import tcp_proxy

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queued(api, repo, git_remote, git_config, unconsumed_queue):
    git_remote.work.write("f.txt", "v1")
    git_remote.work.commit("v1")
    git_remote.work.push()
    config = SyncConfig.objects.get()

    def request(trigger="api"):
        run = run_services.sync_run_request(config=config, trigger=trigger)
        assert run.pk in unconsumed_queue.run_ids()  # published, and nobody took it
        return run

    yield request
    # Whatever the test did, no worker consumed its messages.
    assert set(SyncRun.objects.values_list("pk", flat=True)) <= set(unconsumed_queue.run_ids())


def test_transient_error_requeues_with_backoff_honouring_retry_after(queued, monkeypatch):
    run = queued()
    monkeypatch.setattr(executor, "execute", lambda *a: (_ for _ in ()).throw(
        ProviderRateLimited("GitHub rate limit exceeded", retry_after=120)))
    with pytest.raises(run_services.RetryLater) as later:
        run_services.sync_run_execute(run_id=run.id)
    assert later.value.countdown >= 120
    run.refresh_from_db()
    assert run.status == "queued" and "Retrying in" in run.message


def test_backoff_grows_with_jitter():
    first = [run_services.backoff(1) for _ in range(50)]
    later = [run_services.backoff(4) for _ in range(50)]
    assert max(first) <= 10 < min(later) and len(set(first)) > 1
    assert run_services.backoff(1, retry_after=300) >= 300


def test_gives_up_after_max_attempts(queued, monkeypatch):
    run = queued()
    SyncRun.objects.filter(pk=run.pk).update(attempts=run_services.MAX_ATTEMPTS - 1)
    monkeypatch.setattr(executor, "execute", lambda *a: (_ for _ in ()).throw(
        ProviderUnavailable("GitLab is unavailable: 502")))
    run_services.sync_run_execute(run_id=run.id)
    run.refresh_from_db()
    assert run.status == "error" and run.error_code == "provider.unavailable"


def test_permanent_error_fails_at_once_with_reason(queued, monkeypatch):
    run = queued()
    monkeypatch.setattr(executor, "execute", lambda *a: (_ for _ in ()).throw(
        ProviderAuthError("GitHub token validation failed: 401 Bad credentials", status=401)))
    run_services.sync_run_execute(run_id=run.id)
    run.refresh_from_db()
    assert (run.status, run.error_code) == ("error", "provider.auth")
    assert SyncConfig.objects.get().last_error == run.message == (
        "GitHub token validation failed: 401 Bad credentials")


def test_crash_after_commit_then_redelivery_makes_no_second_commit(queued, monkeypatch, repo):
    run = queued()

    def crash(*args, **kwargs):
        raise SystemExit("worker killed before the database update")

    monkeypatch.setattr(run_services, "succeed", crash)
    with pytest.raises(SystemExit):
        run_services.sync_run_execute(run_id=run.id)
    with storage.open_repo(repo.disk_path) as r:
        head_after_crash = storage.read_ref(r, b"refs/heads/main")
    assert head_after_crash is not None
    run.refresh_from_db()
    assert run.status == "running"
    monkeypatch.undo()
    # The broker redelivers (acks_late); the dead worker (on another host: this test's own
    # process is alive, and a live process here is never taken over) has a stale heartbeat.
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=10),
                                             worker_process="elsewhere:1")
    run_services.sync_run_execute(run_id=run.id)
    run.refresh_from_db()
    assert run.status == "success" and run.commit_sha == head_after_crash.decode()
    with storage.open_repo(repo.disk_path) as r:
        assert storage.read_ref(r, b"refs/heads/main") == head_after_crash


def test_live_run_blocks_other_runs_of_the_repository(queued):
    first = queued()
    SyncRun.objects.filter(pk=first.pk).update(status="running", heartbeat_at=timezone.now())
    second = run_services.sync_run_request(config=SyncConfig.objects.get(), trigger="api",
                                           force=True)
    with pytest.raises(run_services.Busy):
        run_services.sync_run_execute(run_id=second.id)
    with pytest.raises(run_services.Busy):  # a duplicate delivery of the live run itself
        run_services.sync_run_execute(run_id=first.id)


def test_reaper_requeues_a_run_whose_worker_is_gone_and_publishes_it(queued, unconsumed_queue):
    run = queued()
    unconsumed_queue.purge()
    SyncRun.objects.filter(pk=run.pk).update(status="running", worker="gone#1",
                                             worker_process="elsewhere:1",
                                             heartbeat_at=timezone.now() - timedelta(hours=1))
    assert sync_runs_reap()["lost"] == 1
    run.refresh_from_db()
    assert (run.status, run.lost_count, run.worker) == ("queued", 1, "")
    assert "lost" in run.message and run.error_code == ""
    assert unconsumed_queue.run_ids() == [run.pk]  # published again, for any worker to finish
    assert sync_runs_reap()["lost"] == 0


def test_worker_is_gone_after_the_stale_seconds_of_the_settings(queued, settings):
    settings.COREGIT_RUN_STALE_SECONDS = 120
    run = queued()
    beat = timezone.now() - timedelta(seconds=90)
    SyncRun.objects.filter(pk=run.pk).update(status="running", worker="w#1", heartbeat_at=beat,
                                             worker_process="elsewhere:1")
    assert sync_runs_reap()["lost"] == 0  # re-checked: 90 s is not stale yet
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=130))
    assert sync_runs_reap()["lost"] == 1
    assert settings.CELERY_BEAT_SCHEDULE["reap-sync-runs"]["schedule"] <= 60


def test_a_poison_run_ends_after_the_configured_number_of_lost_workers(queued, settings):
    settings.COREGIT_RUN_MAX_ATTEMPTS = 3
    run = queued(trigger="webhook")
    for attempt in (1, 2, 3):
        claimed = SyncRun.objects.get(pk=run.pk)
        assert claimed.status == "queued"
        SyncRun.objects.filter(pk=run.pk).update(
            status="running", worker=f"w#{attempt}", worker_process="elsewhere:1",
            heartbeat_at=timezone.now() - timedelta(hours=1))
        sync_runs_reap()  # its worker died mid-run, once more
    run.refresh_from_db()
    assert (run.status, run.error_code, run.lost_count) == ("error", "sync.worker_lost", 3)
    assert run.message == "The worker running this sync was lost 3 times; giving up"
    config = SyncConfig.objects.get()
    assert config.last_error == run.message and config.consecutive_failures == 1


def test_a_redelivery_takes_over_at_once_when_the_claims_process_has_exited(queued):
    import subprocess
    import sys

    from sync.liveness import machine_id

    run = queued()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    # A prefork child was SIGKILLed mid-run: its last heartbeat is fresh, its process is gone.
    SyncRun.objects.filter(pk=run.pk).update(status="running", worker="w#1",
                                             worker_process=f"{machine_id()}:{dead.pid}",
                                             heartbeat_at=timezone.now())
    run_services.sync_run_execute(run_id=run.id)
    run.refresh_from_db()
    assert (run.status, run.lost_count) == ("success", 1)


def test_a_live_claim_here_is_not_lost_however_stale_its_heartbeat(queued, settings):
    from sync.liveness import this_process

    settings.COREGIT_RUN_MAX_ATTEMPTS = 3
    run = queued(trigger="webhook")
    # The database was out for longer than the staleness: no heartbeat, but the process lives.
    stale = timezone.now() - timedelta(hours=1)
    SyncRun.objects.filter(pk=run.pk).update(status="running", worker="w#1",
                                             worker_process=this_process(), heartbeat_at=stale)
    for _ in range(3):
        assert sync_runs_reap()["lost"] == 0
        with pytest.raises(run_services.Busy):  # a redelivery waits for it
            run_services.sync_run_execute(run_id=run.id)
    run.refresh_from_db()
    assert (run.status, run.lost_count, run.worker) == ("running", 0, "w#1")
    # The same pid started at another time is another process: the claim's one has exited.
    pid_only = this_process().partition("+")[0]
    SyncRun.objects.filter(pk=run.pk).update(worker_process=f"{pid_only}+1")
    assert sync_runs_reap()["lost"] == 1
    run.refresh_from_db()
    assert (run.status, run.lost_count) == ("queued", 1)


def test_an_old_run_failing_late_leaves_a_newer_success_alone(queued, settings):
    settings.COREGIT_RUN_MAX_ATTEMPTS = 1
    old = queued(trigger="webhook")
    SyncRun.objects.filter(pk=old.pk).update(status="running", worker="w#1",
                                             worker_process="elsewhere:1",
                                             heartbeat_at=timezone.now() - timedelta(hours=1))
    newer = run_services.sync_run_request(config=SyncConfig.objects.get(), trigger="api")
    run_services.sync_run_execute(run_id=newer.id)  # the old one's worker is gone: no wait
    assert SyncRun.objects.get(pk=newer.pk).status == "success"
    assert sync_runs_reap()["failed"] == 1
    assert SyncRun.objects.get(pk=old.pk).error_code == "sync.worker_lost"
    config = SyncConfig.objects.get()
    assert (config.last_error, config.consecutive_failures, config.auto_sync_paused) == (
        None, 0, False)


def test_a_ref_conflict_is_retried_with_backoff_not_failed(queued, monkeypatch):
    from core.errors import RefConflict

    run = queued()
    real = executor.execute
    calls = []

    def push_raced(*args):
        calls.append(1)
        if len(calls) == 1:
            raise RefConflict("refs/heads/main moved while the sync was running")
        return real(*args)

    monkeypatch.setattr(executor, "execute", push_raced)
    with pytest.raises(run_services.RetryLater) as later:
        run_services.sync_run_execute(run_id=run.id)
    assert later.value.countdown > 0
    run.refresh_from_db()
    assert run.status == "queued" and run.message.startswith("Retrying in")
    run_services.sync_run_execute(run_id=run.id)
    assert SyncRun.objects.get(pk=run.pk).status == "success"


def test_waiting_behind_a_live_run_backs_off_up_to_two_heartbeats(settings):
    settings.COREGIT_HEARTBEAT_SECONDS = 15
    first = [run_services.busy_countdown(0) for _ in range(20)]
    later = [run_services.busy_countdown(8) for _ in range(20)]
    assert max(first) <= 1 < min(later) and max(later) <= 30
    assert max(run_services.busy_countdown(n) for n in range(100)) <= 30


def test_duplicate_delivery_of_a_finished_run_does_nothing(queued):
    run = queued()
    run_services.sync_run_execute(run_id=run.id)
    run.refresh_from_db()
    assert run.status == "success"
    assert run_services.sync_run_execute(run_id=run.id) is None


def test_history_pagination_is_stable_while_runs_are_added(api, repo, git_config):
    config = SyncConfig.objects.get()
    for _ in range(5):
        SyncRun.objects.create(org_id=config.org_id, config=config, repository=repo,
                               direction="import", branch="main", status="success")
    page1 = api.get("/v1/repos/app/sync/history?limit=2").json()
    SyncRun.objects.create(org_id=config.org_id, config=config, repository=repo,
                           direction="import", branch="main")  # a new run arrives meanwhile
    seen = [r["id"] for r in page1["runs"]]
    cursor = page1["next_cursor"]
    while cursor:
        page = api.get(f"/v1/repos/app/sync/history?limit=2&cursor={cursor}").json()
        seen += [r["id"] for r in page["runs"]]
        cursor = page["next_cursor"]
    old = list(SyncRun.objects.order_by("-created_at", "-id").values_list("id", flat=True))[1:]
    assert seen == old  # no duplicates, no gaps
    for bad in ("0", "101", "x"):
        assert api.get(f"/v1/repos/app/sync/history?limit={bad}").status_code == 400


def test_a_lost_task_message_is_published_again(queued, unconsumed_queue, settings):
    """The broker lost the message: the next identical trigger and the reaper re-publish it."""
    run = queued()
    unconsumed_queue.purge()  # e.g. Redis restarted without persistence
    again = run_services.sync_run_request(config=SyncConfig.objects.get(), trigger="webhook")
    assert again.pk == run.pk and unconsumed_queue.run_ids() == []  # not yet presumed lost
    assert sync_runs_reap()["republished"] == 0
    old = timezone.now() - timedelta(seconds=settings.COREGIT_RUN_REPUBLISH_SECONDS + 1)
    SyncRun.objects.filter(pk=run.pk).update(enqueued_at=old)
    run_services.sync_run_request(config=SyncConfig.objects.get(), trigger="webhook")
    assert unconsumed_queue.run_ids() == [run.pk]
    SyncRun.objects.filter(pk=run.pk).update(enqueued_at=old)
    assert sync_runs_reap()["republished"] == 1 and unconsumed_queue.run_ids() == [run.pk] * 2


def test_a_trigger_the_broker_refused_says_so_and_the_next_reaper_tick_publishes_it(
        api, repo, git_config, unconsumed_queue, broker_down):
    with broker_down():
        # wait: true, but nothing can run before the broker is back: answered at once
        resp = api.post("/v1/repos/app/sync", {"sync_id": git_config["id"]}, format="json")
    assert resp.status_code == 202
    body = resp.json()
    assert (body["status"], body["warnings"]) == ("queued", [run_services.QUEUE_UNREACHABLE])
    run = SyncRun.objects.get(pk=body["run_id"])
    assert run.enqueued_at is None and unconsumed_queue.run_ids() == []  # saved, unpublished
    assert sync_runs_reap()["republished"] == 1  # the broker is back: at once, not minutes later
    assert unconsumed_queue.run_ids() == [run.pk]
    assert SyncRun.objects.get(pk=run.pk).enqueued_at is not None
    assert sync_runs_reap()["republished"] == 0


def test_a_worker_that_lost_its_claim_changes_nothing(queued, monkeypatch):
    run = queued()

    def taken_over(config, run, state):
        # Meanwhile the reaper failed this run and another worker claimed it.
        SyncRun.objects.filter(pk=run.pk).update(status="running", worker="other#1")
        from sync.engine.types import SyncResult

        return SyncResult("success", "a" * 40, "b" * 40)

    monkeypatch.setattr(executor, "execute", taken_over)
    run_services.sync_run_execute(run_id=run.id)
    after = SyncRun.objects.get(pk=run.pk)
    assert (after.status, after.worker) == ("running", "other#1")
    assert not SyncConfig.objects.get().states.exists()


def _database():
    db = connection.settings_dict
    return db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)


def _wait_for(condition, seconds: float = 120, what: str = "condition"):
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def test_a_run_records_its_result_once_the_database_is_back(queued, repo, monkeypatch):
    """PostgreSQL restarts after the commit is written, before the run is recorded."""
    run = queued()
    outcome = {}
    with tcp_proxy(*_database()) as proxy:
        real = executor.execute

        def work_then_database_restarts(*args):
            result = real(*args)  # the commit is written...
            proxy.down()  # ...and the database goes away before the run is recorded
            return result

        monkeypatch.setattr(executor, "execute", work_then_database_restarts)

        def worker() -> None:
            # This thread's connection goes through the proxy (the heartbeat's does not).
            connection.settings_dict = {**connection.settings_dict, "HOST": "127.0.0.1",
                                        "PORT": proxy.port}
            try:
                outcome["run"] = run_services.sync_run_execute(run_id=run.pk)
            except BaseException as exc:  # noqa: BLE001 - reported by the assertions below
                outcome["error"] = exc
            finally:
                connection.close()

        thread = threading.Thread(target=worker)
        thread.start()
        _wait_for(lambda: proxy.refused >= 2 or not thread.is_alive(),
                  what="the worker to retry recording")
        assert "error" not in outcome, outcome["error"]
        assert SyncRun.objects.get(pk=run.pk).status == "running"
        proxy.up()
        thread.join(120)
    assert "error" not in outcome, outcome.get("error")
    run.refresh_from_db()
    with storage.open_repo(repo.disk_path) as r:
        head = storage.read_ref(r, b"refs/heads/main").decode()
    assert (run.status, run.commit_sha, run.lost_count) == ("success", head, 0)
    assert SyncConfig.objects.get().states.get().last_local_sha == head
