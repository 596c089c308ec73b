"""Test settings: test defaults for the environment, then the real settings module.

Only defaults, so CI and the Makefile may point elsewhere; the one exception is a pytest-xdist
worker, whose data directory is always its own (below). Plain `pytest` uses the real PostgreSQL
and Redis on 127.0.0.1 (tests/conftest.py fails the run with a clear message when they are
missing). The embedded mode (SQLite + the filesystem broker) is opt-in: COREGIT_TEST_EMBEDDED=1.
"""

import os
import tempfile

from coregit_project.env import env_bool

_TMP = tempfile.mkdtemp(prefix="coregit-test-")
# pytest-xdist (`make test`): each worker process gets its own data directory, metrics directory,
# test database and task queue (a COREGIT_TEST_ID of its own, below). The controller loaded these
# settings, and so set the environment, before it started the workers: a worker replaces it once,
# and the processes it starts inherit the worker's. The mark names the run too, so a nested xdist
# run (tests/test_ci_guard.py runs .ci/run) derives names of its own from its worker's.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_MARK = f"{os.environ.get('PYTEST_XDIST_TESTRUNUID', '')}:{_WORKER}"
if _WORKER and os.environ.get("COREGIT_TEST_WORKER") != _MARK:
    os.environ["COREGIT_TEST_WORKER"] = _MARK
    os.environ["COREGIT_TEST_ID"] = f"{os.environ.get('COREGIT_TEST_ID') or 'main'}_{_WORKER}"
    os.environ["COREGIT_DATA_DIR"] = _TMP
    os.environ["COREGIT_REPO_ROOT"] = os.path.join(_TMP, "repos")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.path.join(_TMP, "metrics")
_TEST_KEY = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI="
TEST_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test"
TEST_BROKER_URL = "redis://127.0.0.1:6379/0"
EMBEDDED = env_bool("COREGIT_TEST_EMBEDDED")

for _name, _value in {
    "SECRET_KEY": "test-secret-key",
    "COREGIT_ENCRYPTION_KEYS": f"k1:{_TEST_KEY}",
    "COREGIT_ALLOW_PRIVATE_HOSTS": "true",
    "COREGIT_DATA_DIR": _TMP,
    "COREGIT_REPO_ROOT": os.path.join(_TMP, "repos"),
    # Tests with a live worker assert a `wait: true` trigger's finished answer; the wait ends as
    # soon as the run does, so a long one only matters on a loaded machine.
    "COREGIT_SYNC_WAIT_SECONDS": "120",
}.items():
    os.environ.setdefault(_name, _value)
if not EMBEDDED:
    os.environ.setdefault("DATABASE_URL", TEST_DATABASE_URL)
    if not os.environ.get("REDIS_URL"):
        os.environ.setdefault("CELERY_BROKER_URL", TEST_BROKER_URL)

from coregit_project.settings import *  # noqa: E402,F403

# Parallel test sessions on one machine (several checkouts, one PostgreSQL and one Redis) set
# COREGIT_TEST_ID so each gets its own test database and task queue; subprocesses inherit it.
_TEST_ID = os.environ.get("COREGIT_TEST_ID", "")
if _TEST_ID:
    if not EMBEDDED:  # SQLite's test database is in memory: a name would make it a file path
        DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{_TEST_ID}"}  # noqa: F405
    CELERY_TASK_DEFAULT_QUEUE = f"celery-{_TEST_ID}"
