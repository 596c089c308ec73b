"""`make test` runs the suite in pytest-xdist worker processes: each must get its own test
database, task queue, data directory and metrics directory, and the processes a worker starts
with the test settings (Celery workers, gunicorn, inner pytest runs) must see the same ones as that
worker, not derive new ones. A nested xdist run (tests/test_ci_guard.py runs .ci/run) derives
names of its own.

Each case loads the real test settings in a fresh interpreter, with the environment the xdist
controller hands its workers (its own data directory already set, as test_settings sets it)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOW = """
import json, os
os.environ["DJANGO_SETTINGS_MODULE"] = "coregit_project.test_settings"
import django
django.setup()
from django.conf import settings as s
print(json.dumps({"db": s.DATABASES["default"].get("TEST", {}).get("NAME"),
                  "queue": s.CELERY_TASK_DEFAULT_QUEUE, "data": str(s.DATA_DIR),
                  "repos": str(s.COREGIT_REPO_ROOT),
                  "metrics": os.environ["PROMETHEUS_MULTIPROC_DIR"], "env": dict(os.environ)}))
"""
NAMES = ("db", "queue", "data", "repos", "metrics")
XDIST = ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_TESTRUNUID", "COREGIT_TEST_WORKER")


def _settings(env: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _controller_env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in XDIST}
    controller = tmp_path / "controller"
    env.update(COREGIT_TEST_ID="ci", COREGIT_DATA_DIR=str(controller),
               COREGIT_REPO_ROOT=str(controller / "repos"),
               PROMETHEUS_MULTIPROC_DIR=str(controller / "metrics"))
    return env


def _worker(env: dict, worker: str, run: str = "run1") -> dict:
    return _settings({**env, "PYTEST_XDIST_WORKER": worker, "PYTEST_XDIST_TESTRUNUID": run})


def test_each_xdist_worker_gets_its_own_database_queue_data_and_metrics(tmp_path):
    controller = _controller_env(tmp_path)
    gw0, gw1 = _worker(controller, "gw0"), _worker(controller, "gw1")
    for key in NAMES:
        assert gw0[key] != gw1[key], key
    assert gw0["db"].endswith("_ci_gw0") and gw0["queue"] == "celery-ci_gw0"
    for worker in (gw0, gw1):
        for key in ("data", "repos", "metrics"):
            assert not worker[key].startswith(controller["COREGIT_DATA_DIR"]), key
            assert worker[key].startswith(worker["data"]), key


def test_a_workers_subprocesses_keep_its_names(tmp_path):
    gw0 = _worker(_controller_env(tmp_path), "gw0")
    child = _settings(gw0["env"])  # what a Celery worker or gunicorn it starts inherits
    assert {k: child[k] for k in NAMES} == {k: gw0[k] for k in NAMES}


def test_a_nested_xdist_run_derives_its_own_names(tmp_path):
    outer = _worker(_controller_env(tmp_path), "gw1")
    inner = _worker(outer["env"], "gw1", run="run2")  # same worker id, another run
    for key in NAMES:
        assert inner[key] != outer[key], key
    assert inner["queue"] == "celery-ci_gw1_gw1"


def test_a_plain_session_is_unchanged(tmp_path):
    plain = _settings(_controller_env(tmp_path))
    assert plain["queue"] == "celery-ci" and plain["db"].endswith("_ci")
    assert plain["data"] == str((tmp_path / "controller").resolve())


def test_the_embedded_mode_keeps_its_test_database_in_memory(tmp_path):
    """A named SQLite test database would be a file path under a directory that does not exist."""
    env = {k: v for k, v in _controller_env(tmp_path).items()
           if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL")}
    embedded = _worker({**env, "COREGIT_TEST_EMBEDDED": "1"}, "gw0")
    assert embedded["db"] is None and embedded["queue"] == "celery-ci_gw0"
