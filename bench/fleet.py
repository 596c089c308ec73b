"""Scale of the fleet: the beat tick's query count, and history pages over 1,000,000 runs.

    python -m bench.fleet                        # 10,000 configs, 1,000,000 runs
    python -m bench.fleet --configs 2000 --runs 100000 --before

1. Tick: ``--configs`` configs (half polling every 5 minutes) made by bulk_create; one beat tick
   (``sync_poll_due``, publishing included, to this benchmark's own queue) is counted in queries
   and timed, against a tick over 100 configs: the bound is the same query count. ``--before``
   also runs the previous per-config loop (a copy of it, kept here) for the before figure.
2. History: ``--runs`` runs inserted by one ``INSERT … SELECT generate_series``, half of them in
   one repository; EXPLAIN (ANALYZE, BUFFERS) of the first page and of a page deep in that
   repository's history (a cursor ~80 % down), as ``GET …/sync/history`` runs them; then the
   same deep page with the previous query shape and without the index, for the before figure.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import timedelta

from bench.fleet_db import bench_database

QUEUE = "bench-fleet-tick"


def old_tick(*, now) -> int:
    """The tick before this change: two queries or more per polling config."""
    from sync.models import SyncConfig, SyncRun
    from sync.run_services import sync_run_request

    queued = 0
    for config in SyncConfig.objects.filter(poll_interval_minutes__isnull=False,
                                            direction="import", auto_sync_paused=False):
        since = now - timedelta(minutes=config.poll_interval_minutes)
        if not SyncRun.objects.filter(config=config, created_at__gte=since).exists():
            sync_run_request(config=config, trigger=SyncRun.Trigger.SCHEDULE)
            queued += 1
    return queued


def counted(tick, now) -> tuple[int, int, float]:
    """(configs due, statements sent to the database, seconds) of one tick."""
    from django.db import connection

    statements = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        start = time.perf_counter()
        due = tick(now=now)
        elapsed = time.perf_counter() - start
    return due, len(statements), elapsed


def reset() -> None:
    from repos.models import Repository

    Repository.objects.all().delete()  # configs and runs cascade


def tick_bench(org, sizes: list[int], before: bool) -> None:
    from django.utils import timezone

    from sync.auto import sync_poll_due
    from tests.fixtures import BrokerQueue
    from tests.support.fleet import make_fleet
    from workers.celery import app

    queue = BrokerQueue(app, QUEUE)
    ticks = [("after", sync_poll_due)] + ([("before", old_tick)] if before else [])
    print("## tick: configs, due, queries, seconds (publishing to the broker included)")
    for label, tick in ticks:
        for n in sizes:
            reset()
            make_fleet(org, n, prefix=f"f{n}")
            now = timezone.now()
            due, queries, secs = counted(tick, now)
            queue.purge()
            again = counted(tick, now + timedelta(minutes=1))  # nothing due a minute later
            later = counted(tick, now + timedelta(minutes=6))  # all due again, runs present
            queue.purge()
            print(f"{label:6} {n:>6} configs: first tick {due} due, {queries} queries, "
                  f"{secs:.2f}s | next minute {again[0]} due, {again[1]} queries, {again[2]:.2f}s"
                  f" | 6 min later {later[0]} due, {later[1]} queries, {later[2]:.2f}s")


INSERT_RUNS = """
WITH c AS (SELECT array_agg(id ORDER BY id) AS ids, array_agg(repository_id ORDER BY id) AS repos,
                  count(*) AS n FROM sync_syncconfig)
INSERT INTO sync_syncrun (id, org_id, config_id, repository_id, status, trigger, direction, branch,
    force, message, error_code, files_changed, deleted, attempts, worker, worker_process,
    lost_count, created_at)
SELECT 'run_' || lpad(to_hex(g), 16, '0'), %(org)s,
       CASE WHEN g %% 2 = 0 THEN %(hot_config)s ELSE c.ids[1 + g %% c.n] END,
       CASE WHEN g %% 2 = 0 THEN %(hot_repo)s ELSE c.repos[1 + g %% c.n] END,
       'success', 'schedule', 'import', 'main', false, '', '', 0, 0, 1, '', '', 0,
       now() - (g / 3) * interval '1 second'   -- three runs share each timestamp: ties on id
FROM generate_series(1, %(runs)s) AS g, c
"""


def explain(sql: str, params=None, *, settings: str = "") -> tuple[str, float]:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for statement in filter(None, settings.split(";")):
            cursor.execute(statement)
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)  # the settings and any dropped index come back
    ms = float(plan.rsplit("Execution Time:", 1)[1].split()[0])
    return plan, ms


def page_sql(repo, cursor: str | None, limit: int = 20) -> tuple[str, float]:
    """The page query as the history API runs it, and its median time over 15 calls."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core.pagination import paginate
    from sync.selectors import sync_run_history

    times = []
    for _ in range(15):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            paginate(sync_run_history(repo=repo), limit=limit, cursor=cursor)
            times.append(time.perf_counter() - start)
    return queries.captured_queries[-1]["sql"], statistics.median(times) * 1000


def history_bench(org, configs: int, runs: int) -> None:
    from django.db import connection
    from django.db.models import Q

    from core.pagination import encode_cursor
    from sync.models import SyncRun
    from tests.support.fleet import make_fleet

    reset()
    hot = make_fleet(org, configs, prefix="h")[0]
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(INSERT_RUNS, {"org": org.pk, "hot_config": hot.pk,
                                     "hot_repo": hot.repository_id, "runs": runs})
        cursor.execute("ANALYZE sync_syncrun")
    print(f"\n## history: {runs:,} runs inserted in {time.perf_counter() - start:.1f}s; "
          f"{SyncRun.objects.filter(repository_id=hot.repository_id).count():,} in the "
          f"repository paged")
    repo = hot.repository
    deep = (SyncRun.objects.filter(repository=repo).order_by("-created_at", "-id")
            .values_list("created_at", "id")[int(runs * 0.4)])
    typical = SyncRun.objects.exclude(repository=repo).first().repository
    for label, at, cursor in (("first page", repo, None),
                              ("deep page (cursor 80% down)", repo, encode_cursor(*deep)),
                              ("first page of a repository with few runs", typical, None)):
        sql, median_ms = page_sql(at, cursor)
        plan, ms = explain(sql)
        print(f"\n### {label}: {median_ms:.2f} ms per page through paginate() (median of 15)\n"
              f"{sql}\n{plan}")
    created, pk = deep
    old = (SyncRun.objects.filter(repository=repo).order_by("-created_at", "-id")
           .filter(Q(created_at__lt=created) | Q(created_at=created, id__lt=pk)))
    old_sql, params = old[:21].query.sql_with_params()
    plan, ms = explain(old_sql, params, settings="DROP INDEX sync_run_repo_history")
    print(f"\n### before: deep page, previous query shape, no (repository, created_at, id) "
          f"index\n{plan}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=1_000_000)
    ap.add_argument("--before", action="store_true", help="also time the previous tick")
    args = ap.parse_args()
    with bench_database("fleet"):
        from accounts.models import Organization
        from workers.celery import app

        app.conf.task_default_queue = QUEUE  # this benchmark's own queue; no worker reads it
        org = Organization.objects.create(name="Fleet", slug="fleet")
        tick_bench(org, [100, args.configs], args.before)
        history_bench(org, args.configs, args.runs)


if __name__ == "__main__":
    main()
