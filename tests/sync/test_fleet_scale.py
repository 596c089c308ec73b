"""Scale of the fleet: a beat tick costs a constant number of queries and enqueues exactly the
due configs; a poll with nothing new is one ls-refs; a history page is read by index.

The 10,000-config and 1,000,000-run figures are in ``bench/fleet.py``; these tests hold the
properties that make them hold (query counts compared across sizes, the query plan's shape).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.pagination import paginate
from sync import auto
from sync.models import SyncConfig, SyncRun
from sync.selectors import sync_run_history
from tests.support.fleet import make_fleet

pytestmark = pytest.mark.django_db


def _tick(capture_on_commit, now=None) -> tuple[int, int]:
    """One beat tick, publishing included: (configs due, queries it took)."""
    with CaptureQueriesContext(connection) as queries:
        with capture_on_commit(execute=True):
            due = auto.sync_poll_due(now=now)
    return due, len(queries)


def test_a_tick_costs_the_same_queries_at_50_and_500_configs(
        org, unconsumed_queue, django_capture_on_commit_callbacks):
    make_fleet(org, 50, prefix="small")
    small_due, small_queries = _tick(django_capture_on_commit_callbacks)
    assert small_due == 25
    make_fleet(org, 450, prefix="large")  # the 25 polled above are not due again yet
    large_due, large_queries = _tick(django_capture_on_commit_callbacks)
    assert large_due == 225
    # Select-and-lock the due configs, find their queued runs, insert the new runs; and the
    # SAVEPOINT / RELEASE of the atomic block (a test runs inside a transaction).
    assert small_queries == large_queries <= 5, (small_queries, large_queries)
    assert SyncRun.objects.filter(trigger="schedule").count() == 250
    assert len(unconsumed_queue.run_ids()) == 250  # one message per new run, no query each


def _config(org, name: str, **fields) -> SyncConfig:
    (config,) = make_fleet(org, 1, prefix=name, poll_every=1)
    SyncConfig.objects.filter(pk=config.pk).update(**fields)
    return SyncConfig.objects.get(pk=config.pk)


def _run(config: SyncConfig, *, ago: timedelta, status: str = "success",
         enqueued_ago: timedelta | None = None) -> SyncRun:
    now = timezone.now()
    run = SyncRun.objects.create(org_id=config.org_id, config=config, status=status,
                                 repository_id=config.repository_id, trigger="schedule",
                                 direction=config.direction, branch=config.branch)
    enqueued = None if enqueued_ago is None else now - enqueued_ago
    SyncRun.objects.filter(pk=run.pk).update(created_at=now - ago, enqueued_at=enqueued)
    return run


def test_a_tick_enqueues_exactly_the_due_configs_once(
        org, unconsumed_queue, django_capture_on_commit_callbacks):
    never_ran = _config(org, "never-ran")
    ran_long_ago = _config(org, "long-ago")
    _run(ran_long_ago, ago=timedelta(minutes=6))
    _run(_config(org, "recent"), ago=timedelta(minutes=2))
    _run(_config(org, "hourly", poll_interval_minutes=60), ago=timedelta(minutes=30))
    _config(org, "paused", auto_sync_paused=True)
    _config(org, "no-poll", poll_interval_minutes=None)
    _config(org, "export", direction="export")
    # Due, but a run still waits in the queue (behind a long one): the tick joins it. Its task
    # message is alive (published a minute ago), so nothing is sent again.
    waiting = _run(_config(org, "waiting"), ago=timedelta(minutes=10), status="queued",
                   enqueued_ago=timedelta(minutes=1))
    # Due, with a queued run whose message never reached the broker: published again, once.
    unpublished = _run(_config(org, "unpublished"), ago=timedelta(minutes=10), status="queued")

    due, _ = _tick(django_capture_on_commit_callbacks)

    assert due == 4
    new = SyncRun.objects.filter(trigger="schedule", status="queued").exclude(
        pk__in=[waiting.pk, unpublished.pk])
    assert {run.config_id for run in new} == {never_ran.pk, ran_long_ago.pk}
    assert sorted(unconsumed_queue.run_ids()) == sorted([*new.values_list("pk", flat=True),
                                                         unpublished.pk])
    unconsumed_queue.purge()
    runs_before = SyncRun.objects.count()
    assert _tick(django_capture_on_commit_callbacks)[0] == 2  # the two still-queued joins
    assert SyncRun.objects.count() == runs_before and unconsumed_queue.run_ids() == []


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        # Not a statement about speed on 60 rows: forbidding seq scans and sorts (not making them
        # impossible) shows whether an index gives the page in its order, so LIMIT stops early.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def test_a_history_page_is_read_in_order_from_an_index(org):
    configs = make_fleet(org, 2, prefix="hist", poll_every=1)
    for config in configs:
        SyncRun.objects.bulk_create([
            SyncRun(org_id=org.pk, config=config, repository_id=config.repository_id,
                    direction="import", branch="main", status="success") for _ in range(30)])
    repo = configs[0].repository
    plans = []
    cursor = None
    for _ in range(2):  # the first page, then one read through the cursor
        with CaptureQueriesContext(connection) as queries:
            page, cursor = paginate(sync_run_history(repo=repo), limit=10, cursor=cursor)
        (query,) = queries.captured_queries
        assert len(page) == 10 and query["sql"].rstrip().endswith("LIMIT 11")
        plans.append(_plan(query["sql"]))
    for plan in plans:
        assert "sync_run_repo_history" in plan and "Sort" not in plan, plan
    # Deep pages start from the cursor inside the index, not by filtering every newer row.
    assert "created_at <=" in plans[1].split("Index Cond:")[1].splitlines()[0], plans[1]


def test_history_and_admin_lists_cost_the_same_queries_for_3_and_30_rows(api, org, client):
    from django.contrib.auth.models import User

    User.objects.create_superuser("op", "op@example.com", "pw")
    client.login(username="op", password="pw")
    repo_id = api.post("/v1/repos", {"slug": "app"}, format="json").json()["id"]
    config = SyncConfig.objects.create(org=org, repository_id=repo_id, provider="git",
                                       remote="https://git.example.com/x.git", branch="main")
    counts = []
    for total in (3, 30):
        SyncRun.objects.bulk_create([
            SyncRun(org_id=org.pk, config=config, repository_id=repo_id, direction="import",
                    branch="main") for _ in range(total - SyncRun.objects.count())])
        make_fleet(org, total - SyncConfig.objects.count(), prefix=f"adm{total}")
        row = []
        for url, get in (("/v1/repos/app/sync/history?limit=100", api.get),
                         ("/admin/sync/syncrun/", client.get),
                         ("/admin/sync/syncconfig/", client.get)):
            with CaptureQueriesContext(connection) as queries:
                assert get(url).status_code == 200
            row.append(len(queries))
        counts.append(row)
    assert counts[0] == counts[1], counts


@pytest.mark.django_db(transaction=True)
def test_polling_a_snapshot_import_with_nothing_new_is_one_ls_refs(
        api, repo, git_remote, git_config, live_worker):
    """Counted at the real ``git http-backend``. (Mirror configs: test_mirror_auto_import.)"""
    from tests.sync.mirror.history import wait_all_finished

    git_remote.work.write("a.txt", "a\n")
    git_remote.work.commit("first")
    git_remote.work.push()
    first = api.post("/v1/repos/app/sync", {"sync_id": git_config["id"]}, format="json")
    assert first.status_code == 200 and first.json()["synced"] is True, first.json()
    api.patch("/v1/repos/app/sync/config", {"poll_interval_minutes": 5}, format="json")

    def poll(minutes: int) -> list[str]:
        git_remote.server.stats.reset()
        assert auto.sync_poll_due(now=timezone.now() + timedelta(minutes=minutes)) == 1
        wait_all_finished()
        return [method for method, path, _ in git_remote.server.stats.requests
                if "upload-pack" in path]

    # The capability advertisement (GET) and one ls-refs (POST): no pack is asked for.
    assert poll(6) == ["GET", "POST"]
    assert SyncRun.objects.filter(trigger="schedule").get().status == "skipped"
    git_remote.work.write("a.txt", "b\n")
    git_remote.work.commit("second")
    git_remote.work.push()
    assert poll(12) == ["GET", "POST", "POST"]  # ls-refs, then the fetch of the new commit
    assert SyncRun.objects.filter(trigger="schedule", status="success").count() == 1
