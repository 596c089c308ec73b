"""50 repositories triggered at once on 2 prefork worker processes: all finish, no duplicate commit.

    python -m bench.fleet_workers                # 50 repositories, 200 files each
    python -m bench.fleet_workers --repos 20 --files 50

A real ``git http-backend`` serves ``--repos`` small repositories; a real Celery worker
(``--pool prefork --concurrency 2``) reads this benchmark's own queue. First each repository is
imported alone (trigger, wait until done, next): the sum of those trigger-to-done times is the
serial cost. Then as many fresh repositories are imported from the same remotes, all triggered at
once, each twice (the second request joins the queued run, or finds nothing new). Prints the
total time against that sum; with two processes the bound is half the sum. Each imported
repository must hold exactly one commit whose tree is the remote's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.fleet_db import bench_database
from bench.import_vs_clone import ENV
from tests.support.git_http_backend import serve_git

QUEUE = f"bench-fleet-workers-{os.getpid()}"


def make_remote(bare: Path, index: int, files: int) -> str:
    """A one-commit repository by fast-import; returns its tree sha."""
    lines = ["commit refs/heads/main", f"committer b <b@x> {1_700_000_000 + index} +0000",
             "data 6", "first"]
    for f in range(files):
        data = f"repository {index} file {f}\n" * 8
        lines += [f"M 100644 inline dir{f % 10}/f{f}.txt", f"data {len(data)}", data]
    subprocess.run(["git", "fast-import", "--quiet"], input="\n".join(lines).encode(),
                   cwd=bare, env=ENV, check=True, capture_output=True)
    return subprocess.run(["git", "rev-parse", "main^{tree}"], cwd=bare, env=ENV, check=True,
                          capture_output=True, text=True).stdout.strip()


def start_worker(env: dict[str, str], logfile) -> subprocess.Popen:
    celery = Path(sys.executable).parent / "celery"
    return subprocess.Popen(
        [str(celery), "-A", "workers.celery", "worker", "--pool", "prefork", "--concurrency",
         "2", "-Q", QUEUE, "-n", f"{QUEUE}@%h", "--loglevel", "WARNING", "--without-gossip",
         "--without-mingle", "--without-heartbeat"],
        env={**os.environ, **env}, stdout=logfile, stderr=subprocess.STDOUT)


def configs_for(org, server, names: list[str], prefix: str) -> list:
    from repos import storage
    from repos.models import Repository
    from sync.models import SyncConfig

    configs = []
    for name in names:
        repo = Repository.objects.create(org=org, slug=f"{prefix}-{name}")
        storage.init_bare(repo.disk_path, default_branch="main")
        configs.append(SyncConfig.objects.create(
            org=org, repository=repo, provider="git", remote=server.url(f"{name}.git"),
            branch="main"))
    return configs


def wait_finished(run_ids: list[str], deadline: float) -> None:
    from sync.models import SyncRun

    while SyncRun.objects.filter(pk__in=run_ids).exclude(status__in=SyncRun.FINISHED).exists():
        if time.monotonic() > deadline:
            raise SystemExit("runs still unfinished: see the worker log")
        time.sleep(0.02)


def check(configs, trees: dict[str, str]) -> None:
    """Every run succeeded, once, and wrote exactly one commit with the remote's tree."""
    from sync.models import SyncRun

    runs = SyncRun.objects.filter(config__in=configs)
    bad = list(runs.exclude(status__in=("success", "skipped")).values_list("status", "message"))
    assert not bad, bad
    assert runs.filter(status="success").count() == len(configs)
    for config in configs:
        path = config.repository.disk_path
        log = subprocess.run(["git", "log", "--format=%H %T", "main"], cwd=path, env=ENV,
                             check=True, capture_output=True, text=True).stdout.split("\n")
        commits = [line.split() for line in log if line]
        name = config.remote.rsplit("/", 1)[1].removesuffix(".git")
        assert len(commits) == 1 and commits[0][1] == trees[name], (path, commits)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repos", type=int, default=50)
    ap.add_argument("--files", type=int, default=200)
    args = ap.parse_args()
    with bench_database("workers") as env, serve_git(Path(env["COREGIT_DATA_DIR"]) / "served") \
            as server:
        from accounts.models import Organization
        from workers.celery import app

        app.conf.task_default_queue = QUEUE
        names = [f"r{i:02d}" for i in range(args.repos)]
        trees = {name: make_remote(server.create_repo(f"{name}.git"), i, args.files)
                 for i, name in enumerate(names)}
        org = Organization.objects.create(name="Workers", slug="workers")
        log = open(Path(env["COREGIT_DATA_DIR"]) / "worker.log", "w")  # noqa: SIM115
        worker = start_worker(env, log)
        try:
            run(org, server, names, trees, worker)
        finally:
            worker.terminate()
            worker.wait(60)
            log.close()
            from tests.fixtures import BrokerQueue

            BrokerQueue(app, QUEUE).purge()


def run(org, server, names: list[str], trees: dict[str, str], worker) -> None:
    from sync.models import SyncRun
    from sync.run_services import sync_run_request

    # Each pool process pays its imports on its first task: warm both before timing anything.
    warm = configs_for(org, server, names[:4], "warm")
    wait_finished([sync_run_request(config=c, trigger="api").pk for c in warm],
                  time.monotonic() + 300)
    single = []
    alone = configs_for(org, server, names, "alone")
    for config in alone:
        start = time.perf_counter()
        run_id = sync_run_request(config=config, trigger="api").pk
        wait_finished([run_id], time.monotonic() + 300)
        single.append(time.perf_counter() - start)
    check(alone, trees)
    together = configs_for(org, server, names, "together")
    start = time.perf_counter()
    ids = [sync_run_request(config=c, trigger="api").pk for c in together]
    # A second request per repository (a webhook or the schedule racing the API): it joins the
    # queued run, or (when a worker already took that one) queues a run that must find nothing
    # new and write no commit.
    again = [sync_run_request(config=c, trigger="schedule").pk for c in together]
    joined = sum(a == b for a, b in zip(ids, again, strict=True))
    ids = sorted(set(ids + again))
    wait_finished(ids, time.monotonic() + 1800)
    total = time.perf_counter() - start
    check(together, trees)
    serial = sum(single)
    busy = sum((r.completed_at - r.started_at).total_seconds()
               for r in SyncRun.objects.filter(pk__in=ids))
    print(f"{len(names)} repositories, 2 prefork processes: {len(ids)} runs ({joined} second "
          f"requests joined a queued run, the others found nothing new), one commit per "
          f"repository, trees equal the remotes'")
    print(f"single runs (trigger to done, one at a time): sum {serial:.2f}s, "
          f"median {sorted(single)[len(single) // 2]:.3f}s")
    print(f"all at once: {total:.2f}s = {total / serial:.2f}× the sum  "
          f"(bound with 2 processes: 0.50×; 1.00× = no parallelism)")
    print(f"runs' own execution (claim to finish) sums to {busy:.2f}s: on average "
          f"{busy / total:.2f} of the 2 processes were running a sync (machine load "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    assert worker.poll() is None, "the worker exited"


if __name__ == "__main__":
    main()
