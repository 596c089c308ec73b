"""`make test` runs the suite in pytest-xdist worker processes: each must get its own test
database, task queue and data directory, and the processes a worker starts (Celery workers, `make
run`, inner pytest runs) must see the same ones as that worker, not derive new ones.

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
                  "repos": str(s.COREGIT_REPO_ROOT), "env": dict(os.environ)}))
"""


def _settings(env: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _controller_env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTEST_XDIST_WORKER", "COREGIT_TEST_WORKER")}
    env.update(COREGIT_TEST_ID="ci", COREGIT_DATA_DIR=str(tmp_path / "controller"),
               COREGIT_REPO_ROOT=str(tmp_path / "controller" / "repos"))
    return env


def test_each_xdist_worker_gets_its_own_database_queue_and_data(tmp_path):
    controller = _controller_env(tmp_path)
    gw0 = _settings({**controller, "PYTEST_XDIST_WORKER": "gw0"})
    gw1 = _settings({**controller, "PYTEST_XDIST_WORKER": "gw1"})
    for key in ("db", "queue", "data", "repos"):
        assert gw0[key] != gw1[key], key
    assert gw0["db"].endswith("_ci_gw0") and gw0["queue"] == "celery-ci_gw0"
    for worker in (gw0, gw1):
        assert not worker["data"].startswith(controller["COREGIT_DATA_DIR"])
        assert worker["repos"].startswith(worker["data"])


def test_a_workers_subprocesses_keep_its_names(tmp_path):
    gw0 = _settings({**_controller_env(tmp_path), "PYTEST_XDIST_WORKER": "gw0"})
    child = _settings(gw0["env"])  # what a Celery worker or `make run` it starts inherits
    assert {k: child[k] for k in ("db", "queue", "data", "repos")} == \
        {k: gw0[k] for k in ("db", "queue", "data", "repos")}


def test_a_plain_session_is_unchanged(tmp_path):
    plain = _settings(_controller_env(tmp_path))
    assert plain["queue"] == "celery-ci" and plain["db"].endswith("_ci")
    assert plain["data"] == str((tmp_path / "controller").resolve())
