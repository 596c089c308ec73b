"""Test settings: test defaults for the environment, then the real settings module.

Only defaults: CI and the Makefile pass DATABASE_URL/CELERY_BROKER_URL for real services.
"""

import os
import tempfile

_TMP = tempfile.mkdtemp(prefix="coregit-test-")
_TEST_KEY = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI="
for _name, _value in {
    "SECRET_KEY": "test-secret-key",
    "COREGIT_ENCRYPTION_KEYS": f"k1:{_TEST_KEY}",
    "COREGIT_ALLOW_PRIVATE_HOSTS": "true",
    "COREGIT_DATA_DIR": _TMP,
    "COREGIT_REPO_ROOT": os.path.join(_TMP, "repos"),
}.items():
    os.environ.setdefault(_name, _value)

from coregit_project.settings import *  # noqa: E402,F403

# Parallel test sessions on one machine (several checkouts, one PostgreSQL and one Redis) set
# COREGIT_TEST_ID so each gets its own test database and task queue; subprocesses inherit it.
_TEST_ID = os.environ.get("COREGIT_TEST_ID", "")
if _TEST_ID:
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{_TEST_ID}"}  # noqa: F405
    CELERY_TASK_DEFAULT_QUEUE = f"celery-{_TEST_ID}"
