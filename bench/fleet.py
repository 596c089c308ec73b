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

from bench.fleet_db import bench_database, session_name

QUEUE = session_name("bench-fleet-tick", "-")


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


def counted(tick, now) -> tuple[int, int, float, float]:
    """(configs due, statements sent to the database, seconds, of which in the database)."""
    from django.db import connection

    statements = []

    def count(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append(time.perf_counter() - start)

    with connection.execute_wrapper(count):
        start = time.perf_counter()
        due = tick(now=now)
        elapsed = time.perf_counter() - start
    return due, len(statements), elapsed, sum(statements)


def reset() -> None:
    from repos.models import Repository

    Repository.objects.all().delete()  # configs and runs cascade


def tick_bench(org, sizes: list[int], before: bool) -> None:
    from django.utils import timezone

    from sync.auto import sync_poll_due
    from sync.models import SyncRun
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
            first = counted(tick, now)
            queue.purge()
            SyncRun.objects.update(status="success")  # as the workers would have done
            again = counted(tick, now + timedelta(minutes=1))  # nothing due a minute later
            later = counted(tick, now + timedelta(minutes=6))  # all due again, runs present
            queue.purge()
            print(f"{label:6} {n:>6} configs: " + " | ".join(
                f"{when} {due} due, {queries} queries, {secs:.2f}s (database {db:.2f}s)"
                for when, (due, queries, secs, db) in (("first tick", first),
                                                       ("next minute", again),
                                                       ("6 min later", later))))


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


def page_sql(repo, cursor: str | None, limit: int = 20) -> tuple[str, list, float]:
    """The page query as the history API runs it (SQL, params), and its median time over 15."""
    from django.db import connection

    from core.pagination import paginate
    from sync.selectors import sync_run_history

    times, sent = [], []

    def keep(execute, sql, params, many, context):
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        for _ in range(15):
            start = time.perf_counter()
            paginate(sync_run_history(repo=repo), limit=limit, cursor=cursor)
            times.append(time.perf_counter() - start)
    return *sent[-1], statistics.median(times) * 1000


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
        sql, params, median_ms = page_sql(at, cursor)
        plan, ms = explain(sql, params)
        print(f"\n### {label}: {median_ms:.2f} ms per page through paginate() (median of 15)\n"
              f"{sql % tuple(repr(p) for p in params)}\n{plan}")
    created, pk = deep
    old = (SyncRun.objects.filter(repository=repo).order_by("-created_at", "-id")
           .filter(Q(created_at__lt=created) | Q(created_at=created, id__lt=pk)))
    old_sql, params = old[:21].query.sql_with_params()
    plan, ms = explain(old_sql, params, settings="DROP INDEX sync_run_repo_history")
    print(f"\n### before: deep page, previous query shape, no (repository, created_at, id) "
          f"index\n{plan}")
    reaper_bench()


def reaper_bench() -> None:
    """The other beat tick over the runs table: it looks only at unfinished runs."""
    from django.db import connection, transaction

    from sync.run_reaper import sync_runs_reap

    for label, settings in (("after", ""), ("before", "DROP INDEX sync_run_unfinished")):
        with transaction.atomic():
            with connection.cursor() as cursor:
                for statement in filter(None, settings.split(";")):
                    cursor.execute(statement)
            times = []
            for _ in range(5):
                _, queries, secs, _ = counted(lambda now: sync_runs_reap(), None)
                times.append(secs)
            transaction.set_rollback(True)
        how = "without it" if settings else "partial index on unfinished runs"
        print(f"\n## reaper tick ({label}: {how}): {queries} queries, "
              f"{statistics.median(times) * 1000:.1f} ms (median of 5)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=1_000_000)
    ap.add_argument("--before", action="store_true", help="also time the previous tick")
    ap.add_argument("--parts", default="tick,history")
    args = ap.parse_args()
    with bench_database("fleet"):
        from accounts.models import Organization
        from workers.celery import app

        app.conf.task_default_queue = QUEUE  # this benchmark's own queue; no worker reads it
        org = Organization.objects.create(name="Fleet", slug="fleet")
        if "tick" in args.parts:
            tick_bench(org, [100, args.configs], args.before)
        if "history" in args.parts:
            history_bench(org, args.configs, args.runs)


if __name__ == "__main__":
    main()
