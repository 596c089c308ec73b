"""The stack bench/webhook_intake.py measures: `make run`'s script on a data directory of its own
(PostgreSQL + Redis under the benchmark's own database and queue names, or the embedded
default), and GitHub fakes (tests/fakes, git smart HTTP) served over real HTTP as GHES hosts."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import hmac
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.fakes import gitrepo
from tests.fakes.github import FakeGitHub
from tests.support.fake_over_http import fake_over_http
from tests.support.make_run import ROOT, free_port, terminal_env
from tests.support.paths import WEBHOOKS

PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
NAME = os.environ.get("COREGIT_TEST_ID", "bench")
TOKEN = "ghp_bench_intake"
PUSH = json.loads((WEBHOOKS / "github" / "push.payload.json").read_text())


def fresh_database(name: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


@dataclass
class Server:
    proc: subprocess.Popen
    base: str
    data: Path
    key: str
    log: Path

    def db(self):
        """A DB-API connection to the server's database (counting runs and deliveries)."""
        url = self.env.get("DATABASE_URL")
        if url:
            import psycopg

            return psycopg.connect(url, autocommit=True)
        import sqlite3

        return sqlite3.connect(self.data / "db.sqlite3", timeout=30, isolation_level=None)

    env: dict = field(default_factory=dict)


@contextlib.contextmanager
def make_run(tmp: Path, *, postgres: bool, code: Path = ROOT, broker: str = "",
             **extra: str) -> Iterator[Server]:
    """`bash scripts/run.sh`, as `make run` runs it (gunicorn --workers 2 --threads 4, a Celery
    worker with beat), on PostgreSQL + Redis under the benchmark's own names, or embedded.
    ``code``: another checkout to serve (a "before" figure), with this checkout's venv."""
    port = free_port()
    env = terminal_env(tmp / "home", COREGIT_DATA_DIR=str(tmp / "data"), PORT=str(port),
                       VENV=str(ROOT / ".venv"), LOG_LEVEL="WARNING", **extra)
    (tmp / "home").mkdir(parents=True, exist_ok=True)
    if postgres:
        env["DATABASE_URL"] = fresh_database(f"bench_intake_{NAME}".replace("-", "_"))
        env["CELERY_BROKER_URL"] = broker or "redis://127.0.0.1:6379/0"
        env["COREGIT_TASK_QUEUE"] = f"bench-intake-{NAME}"
    log = tmp / "run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(["bash", "scripts/run.sh"], cwd=code, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(proc, base, log)
        key = (tmp / "data" / "demo-master-key").read_text().strip()
        yield Server(proc, base, tmp / "data", key, log, env={
            k: env[k] for k in ("DATABASE_URL",) if k in env})
    finally:
        stop_group(proc)
        shutil.copy(log, Path(tempfile.gettempdir()) / f"bench-intake-{NAME}-{tmp.parent.name}.log")
        if postgres:
            import redis

            # "celery" only on a Redis database of our own (a checkout without COREGIT_TASK_QUEUE)
            queues = [env["COREGIT_TASK_QUEUE"], *(["celery"] if broker else [])]
            redis.Redis.from_url(env["CELERY_BROKER_URL"]).delete(*queues)


def _wait_healthy(proc: subprocess.Popen, base: str, log: Path) -> None:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"make run exited:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{base}/healthz", timeout=30).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError("make run never became healthy")


def stop_group(proc: subprocess.Popen) -> None:
    """Stop a process started with ``start_new_session`` and everything it started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class RemoteGitHub(FakeGitHub):
    """The fake serves git at a lower CPU priority (nice 10, this request's thread only): it
    stands in for a host on another machine, so the CPU it spends packing the worker's fetches
    is not the service's. ``--fake-nice 0`` measures with the fake competing as an equal."""

    nice = 10

    def _smart(self, req, owner, name):
        thread = threading.get_native_id()
        was = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, max(was, self.nice))
        try:
            return super()._smart(req, owner, name)
        finally:
            with contextlib.suppress(PermissionError):  # raising it back needs CAP_SYS_NICE
                os.setpriority(os.PRIO_PROCESS, thread, was)


class SlowGitHub(RemoteGitHub):
    """A GitHub whose git smart HTTP answers after ``delay`` seconds: runs that take a while."""

    delay = 2.0

    def _smart(self, req, owner, name):
        time.sleep(self.delay)
        return super()._smart(req, owner, name)


@contextlib.contextmanager
def github(tmp: Path, cls=RemoteGitHub) -> Iterator[tuple[FakeGitHub, str]]:
    with fake_over_http(lambda host: cls(tmp, host=host)) as (fake, host):
        fake.add_token(TOKEN)
        yield fake, host


class Api:
    def __init__(self, server: Server) -> None:
        self.base, self.session = server.base, requests.Session()
        self.session.headers["x-api-key"] = server.key

    def ok(self, method: str, path: str, body: dict | None = None, status: int = 200) -> dict:
        resp = self.session.request(method, f"{self.base}/v1{path}", json=body, timeout=120)
        if resp.status_code != status:
            raise RuntimeError(f"{method} {path}: {resp.status_code} {resp.text[:500]}")
        return resp.json()


@dataclass
class Config:
    slug: str
    repo_id: str
    sync_id: str
    remote: str
    secret: str
    commits: list[str] = field(default_factory=list)  # the pushes' shas, oldest first
    head: int = 0  # index in commits the remote's branch points at
    lock: threading.Lock = field(default_factory=threading.Lock)


def make_configs(api: Api, fake: FakeGitHub, host: str, prefix: str, count: int, *,
                 auto_sync: bool) -> list[Config]:
    conn = api.ok("POST", "/connections", {"provider": "github", "label": prefix, "host": host,
                                           "access_token": TOKEN}, status=201)["id"]
    out = []
    for i in range(count):
        remote, slug = f"bench/{prefix}{i}", f"{prefix}{i}"
        fake.create_repo(remote, empty=False, default_branch="main")
        repo_id = api.ok("POST", "/repos", {"slug": slug}, status=201)["id"]
        made = api.ok("POST", f"/repos/{slug}/sync/config", {
            "connection_id": conn, "remote": remote, "branch": "main", "direction": "import",
            "auto_sync": auto_sync}, status=201)
        hooks = fake.hooks(remote)
        secret = hooks[0]["config"]["secret"] if hooks else ""
        out.append(Config(slug, repo_id, made["id"], remote, secret))
    return out


def prepare_pushes(fake: FakeGitHub, config: Config, count: int) -> None:
    """``count`` real commits on the remote, made now; the branch moves to each one as its push
    is delivered (``advance``), as a host sends its webhook after the push."""
    repo = fake.repos[config.remote].repo
    start = fake.branch_sha(config.remote)
    parent, leaves = start, gitrepo.flatten(repo, fake.tree_sha(config.remote))
    config.commits = [start]
    for i in range(count):
        data = f"push {i} of {config.remote}\n".encode()
        leaves[f"src/file{i % 50}.txt"] = (gitrepo.MODE_FILE, gitrepo.add_blob(repo, data))
        parent = gitrepo.make_commit(repo, gitrepo.build_tree(repo, leaves), [parent], f"push {i}")
        config.commits.append(parent)
    config.head = 0


def advance(fake: FakeGitHub, config: Config, index: int) -> None:
    """Move the remote's branch forward to push ``index`` (never back)."""
    with config.lock:
        if index > config.head:
            fake.repos[config.remote].repo.refs[b"refs/heads/main"] = config.commits[index].encode()
            config.head = index


def push_body(config: Config, index: int) -> bytes:
    """GitHub's push payload (tests/data/reference), for the push from commit index-1 to index."""
    body = copy.deepcopy(PUSH)
    owner, name = config.remote.split("/")
    before, after = config.commits[index - 1], config.commits[index]
    body.update(ref="refs/heads/main", before=before, after=after, created=False, deleted=False,
                compare=f"https://github.com/{config.remote}/compare/{before[:12]}...{after[:12]}")
    commit = {"id": after, "tree_id": after, "distinct": True, "message": f"push {index}",
              "timestamp": "2026-12-01T04:00:00Z", "url": f"https://github.com/{config.remote}/"
              f"commit/{after}", "author": {"name": "Codertocat", "email": "c@example.com",
                                            "username": "Codertocat"},
              "committer": {"name": "GitHub", "email": "noreply@github.com",
                            "username": "web-flow"},
              "added": [], "removed": [], "modified": [f"src/file{(index - 1) % 50}.txt"]}
    body.update(commits=[commit], head_commit=commit)
    body["repository"].update(name=name, full_name=config.remote)
    body["repository"]["owner"].update(name=owner, login=owner)
    return json.dumps(body).encode()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
