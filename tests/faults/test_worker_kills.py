"""SIGKILL a real prefork worker mid-run; the run must come back by itself, once, within minutes.

Each case kills either the pool child alone (the worker main process survives and redelivers) or
the whole worker process group at once (OOM, lost machine: the broker keeps the message unacked
and only the heartbeat shows the worker is gone; a fresh worker and the reaper take over). The
kill lands at a deterministic point, with no sleep:

- mid-import: the remote ``git http-backend`` has sent half of the fetched pack and holds the rest;
- mid-export: the remote holds the push before applying it;
- after the ref write, import: the worker blocks right after the branch moved (test-only
  ``tests.support.fault_points``, loaded with ``--include``), before the run is recorded;
- after the ref write, export: the remote applied the push and holds the answer.

After recovery the run ended ``success``, there is exactly one Coregit commit (the trailer) where
the sync writes it, the trees match, and no run is left queued or running.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import time

import pytest
from dulwich.objects import Blob, Tree

from repos import storage
from repos.models import Repository
from sync.models import SyncRun
from tests.faults.conftest import (
    RECOVERY_DEADLINE,
    Api,
    Remote,
    Stack,
    create_synced_repo,
    elapsed_since,
    wait_finished,
)
from tests.support.figures import record_figure
from tests.support.gitcli import git
from tests.support.processes import ANOTHER_MACHINE, Process, alive, children_of, wait_until

pytestmark = pytest.mark.django_db(transaction=True)
# (point, kill): "elsewhere" kills a whole worker running in a pid namespace of its own, so the
# survivors cannot see its processes exit and must go by its heartbeat, as across machines.
CASES = [("mid", "child"), ("mid", "worker"), ("mid", "elsewhere"),
         ("after-ref", "child"), ("after-ref", "worker")]

LABELS = {"child": "pool child", "worker": "whole worker", "elsewhere": "whole worker (other host)"}


@functools.cache
def _pid_namespaces() -> bool:
    done = subprocess.run([*ANOTHER_MACHINE, "true"], capture_output=True, timeout=60)
    return done.returncode == 0


def _git_out(path, *args: str, home) -> str:
    return git(*args, cwd=path, home=home).stdout.decode().strip()


def _start_worker(stack: Stack, workers: list[Process], name: str, kind: str, **env: str
                  ) -> Process:
    if kind == "elsewhere" and not _pid_namespaces():
        pytest.skip("this machine cannot create pid namespaces (unshare --pid)")
    worker = stack.worker(name, wrap=ANOTHER_MACHINE if kind == "elsewhere" else None,
                          **env).start()
    workers.append(worker)
    return worker  # it gets ready while the test sets up; the trigger waits for it


def _kill(worker: Process, kind: str) -> None:
    if kind == "child":
        pool = children_of(worker.pid)
        assert len(pool) == 1, f"expected one pool child, found {pool}"
        os.kill(pool[0], signal.SIGKILL)
        wait_until(lambda: not alive(pool[0]), timeout=30, what="the pool child to die")
    else:
        worker.kill_group()


def _trigger(api: Api, slug: str, config_id: str, worker: Process) -> str:
    worker.wait_log(" ready.", timeout=120)
    body = api.ok("POST", f"/repos/{slug}/sync", {"sync_id": config_id, "wait": False}, status=202)
    return body["run_id"]


def _assert_running(api: Api, slug: str, run_id: str) -> None:
    runs = api.ok("GET", f"/repos/{slug}/sync/history")["runs"]
    assert [(r["id"], r["status"]) for r in runs] == [(run_id, "running")]


def _recover(stack: Stack, workers: list[Process], victim: Process, kind: str, gate) -> float:
    """Kill, then let the service recover as production would; returns the kill time."""
    _kill(victim, kind)
    killed_at = time.monotonic()
    if gate is not None:
        gate.abort()  # the held request dies with its client: a held push is never applied
    if kind != "child":
        workers.append(stack.worker("rescuer").start())  # the supervisor starts a fresh worker
    return killed_at


def _assert_one_run_succeeded(api: Api, slug: str, run_id: str, killed_at: float) -> tuple[dict, float]:
    run = wait_finished(api, slug, run_id, timeout=RECOVERY_DEADLINE)
    took = elapsed_since(killed_at)
    assert run["status"] == "success", run
    runs = api.ok("GET", f"/repos/{slug}/sync/history")["runs"]
    assert [r["id"] for r in runs] == [run_id]
    assert not SyncRun.objects.filter(status__in=["queued", "running"]).exists()
    return run, took


@pytest.mark.parametrize(("point", "kind"), CASES)
def test_import_survives_sigkill(stack, workers, remote: Remote, master_key, tmp_path, point, kind):
    env: dict[str, str] = {}
    gate = None
    marker = tmp_path / "after-branch-write"
    if point == "mid":
        gate = remote.server.gate("POST", "/git-upload-pack", "partial", body_contains=b"want ")
    else:
        env["COREGIT_FAULT_AFTER_BRANCH_WRITE"] = str(marker)
    victim = _start_worker(stack, workers, "victim", kind, **env)
    api = stack.client(master_key)
    remote.work.write("README.md", "# upstream\n")
    remote.work.write("src/app.py", "print('hi')\n" * 200)
    remote.work.commit("upstream")
    remote_sha = remote.work.push()
    repo, config = create_synced_repo(api, remote, "app")
    run_id = _trigger(api, "app", config["id"], victim)
    if gate is not None:
        wait_until(gate.reached.is_set, timeout=120, what="the import to fetch from the remote")
    else:
        wait_until(marker.exists, timeout=120, what="the import to write the branch")
    _assert_running(api, "app", run_id)

    killed_at = _recover(stack, workers, victim, kind, gate)
    run, took = _assert_one_run_succeeded(api, "app", run_id, killed_at)

    disk = Repository.objects.get(id=repo["id"]).disk_path
    assert _git_out(disk, "rev-list", "--count", "main", home=remote.home) == "1"
    message = _git_out(disk, "log", "-1", "--format=%B", "main", home=remote.home)
    assert message.count("Coregit-Sync-Remote-Sha:") == 1
    assert f"Coregit-Sync-Remote-Sha: {remote_sha}" in message
    assert _git_out(disk, "rev-parse", "main^{tree}", home=remote.home) == remote.work.tree()
    assert run["remote_sha"] == remote_sha
    record_figure(f"SIGKILL {LABELS[kind]:25} import {point:9}", took, runs=1, commits=1)


def _local_commit(repo_id: str, files: dict[str, bytes]) -> str:
    """Content pushed to the local repository (written straight into its object store)."""
    disk = Repository.objects.get(id=repo_id).disk_path
    with storage.open_repo(disk) as r:
        tree = Tree()
        for name, data in files.items():
            blob = Blob.from_string(data)
            r.object_store.add_object(blob)
            tree.add(name.encode(), 0o100644, blob.id)
        r.object_store.add_object(tree)
        commit = storage.write_commit(r, tree=tree.id, parents=[], message="local work\n")
        storage.cas_ref(r, b"refs/heads/main", None, commit)
    return commit.decode()


@pytest.mark.parametrize(("point", "kind"), CASES)
def test_export_survives_sigkill(stack, workers, remote: Remote, master_key, point, kind):
    victim = _start_worker(stack, workers, "victim", kind)
    api = stack.client(master_key)
    remote.work.write("README.md", "# created with the remote repository\n")
    remote.work.commit("initial")
    remote_root = remote.work.push()
    # The remote's own first commit is not ours: the config lets the export go on top of it.
    repo, config = create_synced_repo(api, remote, "app", direction="export",
                                      overwrite_diverged=True)
    local = _local_commit(repo["id"], {"app.txt": b"local\n" * 500, "data.bin": os.urandom(4096)})

    where = "before" if point == "mid" else "after"
    gate = remote.server.gate("POST", "/git-receive-pack", where)
    run_id = _trigger(api, "app", config["id"], victim)
    wait_until(gate.reached.is_set, timeout=120, what="the export to push to the remote")
    _assert_running(api, "app", run_id)
    if point == "after-ref":
        assert _git_out(remote.path, "rev-parse", "main", home=remote.home) != remote_root

    killed_at = _recover(stack, workers, victim, kind, gate)
    run, took = _assert_one_run_succeeded(api, "app", run_id, killed_at)

    log = _git_out(remote.path, "log", "--format=%H %P%n%B", "main", home=remote.home)
    assert _git_out(remote.path, "rev-list", "--count", "main", home=remote.home) == "2", log
    assert log.count(f"Coregit-Sync-Local-Sha: {local}") == 1, log
    assert _git_out(remote.path, "rev-parse", "main^", home=remote.home) == remote_root
    disk = Repository.objects.get(id=repo["id"]).disk_path
    assert (_git_out(remote.path, "rev-parse", "main^{tree}", home=remote.home)
            == _git_out(disk, "rev-parse", "main^{tree}", home=remote.home))
    assert run["commit_sha"] == local
    record_figure(f"SIGKILL {LABELS[kind]:25} export {point:9}", took, runs=1, commits=1)
