"""A prefork worker in a subprocess, SIGKILLed mid-run (its pool process, or the whole worker):
the run is taken over and finished with one commit, within seconds on the same machine; a run
that keeps killing its worker ends in ``sync.worker_lost``. Default timing settings throughout.
"""

import os
import signal
import time
from urllib.parse import urlsplit

import pytest

from repos import storage
from sync.models import SyncConfig, SyncRun
from sync.run_services import sync_run_request
from tests.fixtures import BrokerQueue, route_tasks_to
from tests.support.tcp_proxy import tcp_proxy
from tests.sync.conftest import git_config, git_remote, repo  # noqa: F401 - fixtures
from tests.workers.prefork import prefork_queue, prefork_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _wait(condition, seconds: float = 180, what: str = "condition"):
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


@pytest.fixture
def held_import(git_remote, git_config, _task_routes):  # noqa: F811
    """An import whose fetch hangs (a proxy holds the connection) until the test releases it."""
    git_remote.work.write("f.txt", "v1")
    git_remote.work.commit("v1")
    git_remote.work.push()
    remote = urlsplit(git_remote.url)
    queue = BrokerQueue(_task_routes, prefork_queue())
    queue.purge()
    with tcp_proxy(remote.hostname, remote.port) as proxy, route_tasks_to(prefork_queue()):
        SyncConfig.objects.update(remote=git_remote.url.replace(f":{remote.port}/",
                                                                f":{proxy.port}/"))
        proxy.hold()
        yield proxy
    queue.purge()


def _running(run_id: str, not_process: str = "") -> SyncRun | None:
    run = SyncRun.objects.get(pk=run_id)
    return run if run.status == "running" and run.worker_process != not_process else None


def _trailer_commits(repo) -> int:  # noqa: F811
    with storage.open_repo(repo.disk_path) as r:
        head = storage.read_ref(r, b"refs/heads/main")
        return sum(b"Coregit-Sync-Remote-Sha" in e.commit.message
                   for e in r.get_walker(include=[head]))


def _finished(run_id: str) -> SyncRun | None:
    run = SyncRun.objects.get(pk=run_id)
    return run if run.finished else None


def test_pool_process_killed_mid_run_is_taken_over_at_once(repo, held_import, tmp_path):  # noqa: F811
    with prefork_worker(tmp_path) as worker:
        run = sync_run_request(config=SyncConfig.objects.get(), trigger="api")
        victim = _wait(lambda: _running(run.pk), what="the run to start").worker_process
        _wait(lambda: held_import.holding(), what="the fetch to hang")
        killed = time.monotonic()
        os.kill(int(victim.rpartition(":")[2].partition("+")[0]), signal.SIGKILL)
        held_import.release()
        run = _wait(lambda: _finished(run.pk), what="the run to finish", seconds=300)
        recovery = time.monotonic() - killed
        assert (run.status, run.lost_count) == ("success", 1), (run.message, worker.output())
    print(f"\npool process SIGKILL -> run finished in {recovery:.1f}s")
    assert _trailer_commits(repo) == 1


def test_whole_worker_killed_mid_run_finishes_when_a_worker_starts(repo, held_import,  # noqa: F811
                                                                   tmp_path):
    with prefork_worker(tmp_path) as worker:
        run = sync_run_request(config=SyncConfig.objects.get(), trigger="api")
        _wait(lambda: _running(run.pk), what="the run to start")
        _wait(lambda: held_import.holding(), what="the fetch to hang")
        killed = time.monotonic()
        worker.kill()  # the message stays unacknowledged in Redis, for hours
    held_import.release()
    with prefork_worker(tmp_path) as worker:
        run = _wait(lambda: _finished(run.pk), what="the run to finish", seconds=300)
        recovery = time.monotonic() - killed
        assert (run.status, run.lost_count) == ("success", 1), (run.message, worker.output())
    print(f"\nwhole worker SIGKILL -> run finished in {recovery:.1f}s (new worker started at once)")
    assert _trailer_commits(repo) == 1


def test_a_run_that_kills_every_worker_ends_in_worker_lost(repo, held_import, tmp_path,  # noqa: F811
                                                           settings):
    with prefork_worker(tmp_path) as worker:
        run = sync_run_request(config=SyncConfig.objects.get(), trigger="api")
        killed: list[str] = []
        while not (done := _finished(run.pk)):
            claim = _running(run.pk, not_process=killed[-1] if killed else "")
            if claim and claim.worker_process not in killed:
                _wait(lambda n=len(killed): held_import.holding() > n, what="the fetch to hang")
                os.kill(int(claim.worker_process.rpartition(":")[2].partition("+")[0]), signal.SIGKILL)
                killed.append(claim.worker_process)
            assert len(killed) <= settings.COREGIT_RUN_MAX_ATTEMPTS, worker.output()[-3000:]
            time.sleep(0.05)
    held_import.release()
    assert len(killed) == settings.COREGIT_RUN_MAX_ATTEMPTS == 3
    assert (done.status, done.error_code, done.lost_count) == ("error", "sync.worker_lost", 3)
    assert done.message == "The worker running this sync was lost 3 times; giving up"
    assert SyncConfig.objects.get().last_error == done.message
