"""Retries, permanent failures, crash-and-redeliver and the reaper (service level, no worker)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import ProviderAuthError, ProviderRateLimited, ProviderUnavailable
from repos import storage
from sync import executor, run_services
from sync.models import SyncConfig, SyncRun
from sync.run_finish import sync_runs_reap

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queued(api, repo, git_remote, git_config, django_capture_on_commit_callbacks):
    git_remote.work.write("f.txt", "v1")
    git_remote.work.commit("v1")
    git_remote.work.push()
    config = SyncConfig.objects.get()
    return lambda trigger="api": run_services.sync_run_request(config=config, trigger=trigger)


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
    # The broker redelivers (acks_late); the dead worker's heartbeat is stale.
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=10))
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


def test_reaper_fails_runs_whose_worker_is_gone(queued):
    run = queued()
    SyncRun.objects.filter(pk=run.pk).update(status="running",
                                             heartbeat_at=timezone.now() - timedelta(hours=1))
    assert sync_runs_reap()["reaped"] == 1
    run.refresh_from_db()
    assert (run.status, run.error_code) == ("error", "sync.worker_lost")
    assert sync_runs_reap()["reaped"] == 0


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


def test_a_lost_task_message_is_published_again(queued, monkeypatch):
    """The broker lost the message: the next identical trigger and the reaper re-publish it."""
    from workers import tasks

    def broker_down(run_id):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.sync_run, "delay", broker_down)
    run = queued()  # the trigger itself still succeeds; the run waits, queued
    assert SyncRun.objects.get(pk=run.pk).status == "queued"
    published = []
    monkeypatch.setattr(tasks.sync_run, "delay", lambda run_id: published.append(run_id))
    again = run_services.sync_run_request(config=SyncConfig.objects.get(), trigger="webhook")
    assert again.pk == run.pk and published == []  # recently enqueued: not yet presumed lost
    SyncRun.objects.filter(pk=run.pk).update(enqueued_at=timezone.now() - timedelta(hours=1))
    run_services.sync_run_request(config=SyncConfig.objects.get(), trigger="webhook")
    assert published == [run.pk]
    SyncRun.objects.filter(pk=run.pk).update(enqueued_at=timezone.now() - timedelta(hours=1))
    assert sync_runs_reap()["requeued"] == 1 and published == [run.pk, run.pk]


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
