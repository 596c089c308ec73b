"""Restart PostgreSQL (our own cluster, on a free port) in the middle of a run.

gunicorn (threads, persistent connections, as ``make run`` serves it), beat and a prefork worker
use a cluster of this test. An import is held mid-fetch by the remote; PostgreSQL is stopped and
the fetch let go, so the worker writes the import commit and must record the run while the
database is down (its log shows a failed try); then PostgreSQL starts again. The run ends
``success`` (recorded once the database is back, or retried cleanly) with one import commit, and
the API answers 2xx at once, on every gunicorn thread, with no restart of its own.
"""

from __future__ import annotations

import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings

from tests.faults.conftest import (
    RECOVERY_DEADLINE,
    Api,
    Remote,
    create_synced_repo,
    elapsed_since,
    new_service_env,
    purge_queue,
    start_stack,
    stop_all,
    wait_finished,
)
from tests.support.figures import record_figure
from tests.support.gitcli import git
from tests.support.processes import (
    BIN,
    ROOT,
    PostgresCluster,
    Process,
    ServiceEnv,
    celery_worker,
    wait_until,
)

THREADS = 4  # gunicorn --threads in tests.support.processes.gunicorn


def _manage(senv: ServiceEnv, *args: str) -> str:
    done = subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=senv.env(),
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def _burst(api: Api, requests: int = 4 * THREADS) -> list[int]:
    """Concurrent requests, so every gunicorn thread serves some with its own connection."""
    with ThreadPoolExecutor(max_workers=2 * THREADS) as pool:
        return list(pool.map(lambda _: api.call("GET", "/repos").status_code, range(requests)))


@pytest.fixture
def cluster():
    pg = PostgresCluster()
    pg.init()
    pg.start()
    try:
        yield pg
    finally:
        pg.destroy()


def test_run_and_api_survive_a_postgres_restart(cluster, workers: list[Process], remote: Remote,
                                                tmp_path):
    senv = new_service_env(tmp_path / "services", database_url=cluster.createdb("coregit"),
                           broker_url=settings.CELERY_BROKER_URL)
    senv.data_dir.mkdir()
    senv.repo_root = str(tmp_path / "repos")
    _manage(senv, "migrate", "--noinput", "-v", "0")
    made = _manage(senv, "create_org", "Faults")
    key = re.search(r"Master API key \(shown once\): (\S+)", made).group(1)
    org_id = re.search(r"Organization: \S+ \((\S+)\)", made).group(1)
    worker = celery_worker(senv, "worker").start()  # gets ready while the API starts
    workers.append(worker)
    stack = start_stack(senv)
    try:
        worker.wait_log(" ready.", timeout=120)
        _restart_mid_run(stack.client(key), cluster, remote, Path(senv.repo_root) / org_id,
                         worker)
    finally:
        stop_all(stack.api_process, stack.beat)
        purge_queue(senv.broker_url, senv.queue_id)


def _restart_mid_run(api: Api, cluster: PostgresCluster, remote: Remote, org_root: Path,
                     worker: Process) -> None:
    remote.work.write("README.md", "# upstream\n")
    remote.work.commit("upstream")
    remote_sha = remote.work.push()
    repo, config = create_synced_repo(api, remote, "app")
    disk = org_root / f"{repo['id']}.git"
    assert _burst(api) == [200] * (4 * THREADS)  # every thread now holds a database connection

    gate = remote.server.gate("POST", "/git-upload-pack", "partial", body_contains=b"want ")
    run_id = api.ok("POST", "/repos/app/sync", {"sync_id": config["id"], "wait": False},
                    status=202)["run_id"]
    wait_until(gate.reached.is_set, timeout=120, what="the import to fetch")

    cluster.stop("fast")
    stopped_at = time.monotonic()
    gate.release()
    # The worker writes the import commit, then has to record the run with the database down.
    wait_until(lambda: _branch(disk, remote.home), timeout=120, what="the import commit")
    # The worker's log says when recording failed at least once (sync/db_retry.py).
    worker.wait_log("while recording a run", timeout=120)
    cluster.start()
    restarted_at = time.monotonic()

    statuses = _burst(api)
    assert statuses == [200] * len(statuses), statuses  # no 500 from a dead pooled connection
    run = wait_finished(api, "app", run_id, timeout=RECOVERY_DEADLINE)
    took = elapsed_since(restarted_at)
    assert run["status"] == "success", run
    assert run["remote_sha"] == remote_sha
    runs = api.ok("GET", "/repos/app/sync/history")["runs"]
    assert [(r["id"], r["status"]) for r in runs] == [(run_id, "success")]
    log = git("log", "--format=%B", "main", cwd=disk, home=remote.home).stdout.decode()
    assert log.count("Coregit-Sync-Remote-Sha:") == 1, log
    assert run["commit_sha"] == _branch(disk, remote.home)
    record_figure("PostgreSQL restart mid-run (run recorded after restart)", took,
                  down_for=f"{restarted_at - stopped_at:.1f}s", api_statuses="all 200")


def _branch(disk: Path, home: Path) -> str | None:
    out = git("rev-parse", "--verify", "-q", "refs/heads/main", cwd=disk, home=home, check=False)
    return out.stdout.decode().strip() or None
