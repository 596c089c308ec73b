"""Test settings: test defaults for the environment, then the real settings module.

Only defaults, so CI and the Makefile may point elsewhere. Plain `pytest` uses the real PostgreSQL
and Redis on 127.0.0.1 (tests/conftest.py fails the run with a clear message when they are
missing). The embedded mode (SQLite + the filesystem broker) is opt-in: COREGIT_TEST_EMBEDDED=1.
"""

import os
import tempfile

from coregit_project.env import env_bool

_TMP = tempfile.mkdtemp(prefix="coregit-test-")
# pytest-xdist: each worker process gets its own data directory, test database and task queue
# (a COREGIT_TEST_ID of its own, below). The controller set the environment before it started the
# workers, so it is replaced here, once: subprocesses inherit the worker's (COREGIT_TEST_WORKER).
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER and os.environ.get("COREGIT_TEST_WORKER") != _WORKER:
    os.environ["COREGIT_TEST_WORKER"] = _WORKER
    os.environ["COREGIT_TEST_ID"] = f"{os.environ.get('COREGIT_TEST_ID') or 'main'}_{_WORKER}"
    os.environ["COREGIT_DATA_DIR"] = _TMP
    os.environ["COREGIT_REPO_ROOT"] = os.path.join(_TMP, "repos")
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
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{_TEST_ID}"}  # noqa: F405
    CELERY_TASK_DEFAULT_QUEUE = f"celery-{_TEST_ID}"
