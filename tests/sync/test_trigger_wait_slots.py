"""`wait: true` triggers never take the threads webhook intake and /healthz need (issue 9 point 3).

gunicorn as `make run` serves it (threads, gunicorn.conf.py read from the checkout) on the test
database and a task queue no worker consumes: runs cannot finish, so a waiting trigger holds its
thread for as long as the test wants. More waiting triggers than the process has threads: those
beyond the slots (half the threads) answer 202 at once, as `wait: false` would; the others keep
waiting while /healthz and a signed GitHub delivery are answered; once a worker starts on the
queue, the waiting ones answer the finished run.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests
from django.conf import settings

from tests.fakes.github import FakeGitHub
from tests.support.fake_over_http import fake_over_http
from tests.support.paths import WEBHOOKS
from tests.support.processes import (
    ServiceEnv,
    celery_worker,
    free_port,
    gunicorn,
    wait_healthy,
    wait_until,
)

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN = "ghp_wait_slots"
THREADS, SLOTS = 4, 2  # tests/support/processes.gunicorn: one process, 4 threads
DEADLINE = 120.0  # generous: only a request stuck behind the waits comes near it


def _database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _push(remote: str, before: str, after: str) -> bytes:
    body = json.loads((WEBHOOKS / "github" / "push.payload.json").read_text())
    body.update(ref="refs/heads/main", before=before, after=after, deleted=False, created=False)
    body["repository"]["full_name"] = remote
    return json.dumps(body).encode()


def test_waiting_triggers_leave_threads_for_health_and_webhooks(master_key, tmp_path):
    queue_id = f"{os.environ.get('COREGIT_TEST_ID', 'main')}-waits-{uuid.uuid4().hex[:8]}"
    senv = ServiceEnv(database_url=_database_url(), broker_url=settings.CELERY_BROKER_URL,
                      queue_id=queue_id, repo_root=str(settings.COREGIT_REPO_ROOT),
                      data_dir=tmp_path, extra={"COREGIT_SYNC_WAIT_SECONDS": "900"})
    port, procs = free_port(), []
    pool = ThreadPoolExecutor(THREADS + 2)
    base = f"http://127.0.0.1:{port}"
    with fake_over_http(lambda host: FakeGitHub(tmp_path / "gh", host=host)) as (gh, host):
        gh.add_token(TOKEN)
        for remote in ("acme/waits", "acme/pushed"):
            gh.create_repo(remote, empty=False, default_branch="main")
        procs.append(gunicorn(senv, port).start())
        try:
            wait_healthy(procs[0], base)
            session = requests.Session()
            session.headers["x-api-key"] = master_key

            def call(method: str, path: str, body: dict, status: int) -> dict:
                resp = session.request(method, f"{base}/v1{path}", json=body, timeout=DEADLINE)
                assert resp.status_code == status, resp.text
                return resp.json()

            conn = call("POST", "/connections", {"provider": "github", "label": "gh",
                                                 "host": host, "access_token": TOKEN}, 201)["id"]
            configs = {}
            for slug, auto in (("waits", False), ("pushed", True)):
                call("POST", "/repos", {"slug": slug}, 201)
                configs[slug] = call("POST", f"/repos/{slug}/sync/config", {
                    "connection_id": conn, "remote": f"acme/{slug}", "branch": "main",
                    "auto_sync": auto}, 201)["id"]

            def trigger() -> requests.Response:
                return requests.post(f"{base}/v1/repos/waits/sync", headers={
                    "x-api-key": master_key}, json={"sync_id": configs["waits"]}, timeout=900)

            waits = [pool.submit(trigger) for _ in range(THREADS + 2)]
            # Beyond the slots: answered at once, as `wait: false` (202 and the queued run).
            wait_until(lambda: sum(f.done() for f in waits) >= THREADS, timeout=DEADLINE,
                       what="the triggers beyond the wait slots to answer")
            answered = [f for f in waits if f.done()]
            early = [f.result() for f in answered]
            assert len(early) == THREADS + 2 - SLOTS
            assert {(r.status_code, r.json()["status"]) for r in early} == {(202, "queued")}
            run_id = early[0].json()["run_id"]
            assert {r.json()["run_id"] for r in early} == {run_id}

            # Every slot holds a wait that cannot end (no worker consumes the queue), and
            # the process still answers health checks and webhook deliveries.
            health = requests.get(f"{base}/healthz", timeout=DEADLINE)
            assert health.status_code == 200 and health.json()["status"] == "ok"
            before, after = gh.branch_sha("acme/pushed"), gh.commit(
                "acme/pushed", {"README.md": b"# moved\n"}, "a push", branch="main")
            body = _push("acme/pushed", before, after)
            secret = gh.hooks("acme/pushed")[0]["config"]["secret"].encode()
            hook = requests.post(f"{base}/v1/sync-webhooks/github/{configs['pushed']}",
                                 data=body, timeout=DEADLINE, headers={
                                     "X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1",
                                     "Content-Type": "application/json",
                                     "X-Hub-Signature-256": "sha256=" + hmac.new(
                                         secret, body, hashlib.sha256).hexdigest()})
            assert hook.status_code == 202 and hook.json()["status"] == "queued", hook.text
            assert sum(not f.done() for f in waits) == SLOTS

            # Released: a worker takes the run, and each waiting trigger answers its result.
            procs.append(celery_worker(senv, "waits").start())
            late = [f.result(timeout=900) for f in waits if f not in answered]
            assert len(late) == SLOTS
            for resp in late:
                assert resp.status_code == 200, resp.text
                assert resp.json()["run_id"] == run_id and resp.json()["direction"] == "import"
                assert resp.json()["remote_sha"] == gh.branch_sha("acme/waits")
        finally:
            for proc in procs:  # first: a request still waiting ends with its server
                proc.stop()
            pool.shutdown(cancel_futures=True)
            redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(f"celery-{queue_id}")
