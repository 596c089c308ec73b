"""On CI a missing PostgreSQL or Redis fails the run loudly: no fallback to SQLite or eager tasks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _pytest(env_changes: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(CI="true", **env_changes)
    return subprocess.run([sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider",
                           "tests/test_compose.py"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("env,says", [
    ({}, "DATABASE_URL must point at PostgreSQL"),
    ({"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
      "CELERY_BROKER_URL": "redis://127.0.0.1:1/0"}, "Redis unreachable"),
    ({"DATABASE_URL": "postgres://postgres@127.0.0.1:1/test",
      "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}, "PostgreSQL unreachable"),
])
def test_missing_services_fail_the_run(env, says):
    run = _pytest(env)
    assert run.returncode == 3, run.stdout + run.stderr
    assert says in run.stdout + run.stderr
