"""The suite runs on real PostgreSQL and Redis, or fails saying so; the embedded mode is opt-in.

Each case runs pytest in a subprocess with the given environment and no other service settings.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
SERVICE_VARS = ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "CI", "COREGIT_TEST_EMBEDDED",
                "COREGIT_TEST_REAL_SERVICES", "DJANGO_SETTINGS_MODULE", "COREGIT_DATA_DIR",
                "COREGIT_REPO_ROOT")
PROBE = "tests/test_ci_guard.py::test_session_services_are_the_ones_asked_for"


def _pytest(env_changes: dict, *args: str) -> subprocess.CompletedProcess:
    env = {**_clean_env(), **env_changes}
    # Generous: a pytest start-up is seconds, but the machine may be loaded.
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *(args or (PROBE,))], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)


def test_session_services_are_the_ones_asked_for():
    """The probe the other tests run: what this session is really using."""
    engine = settings.DATABASES["default"]["ENGINE"]
    if os.environ.get("COREGIT_TEST_EMBEDDED") == "1":
        assert engine.endswith("sqlite3")
        assert settings.CELERY_BROKER_URL.startswith("filesystem://")
    else:
        assert engine.endswith("postgresql")
        assert settings.CELERY_BROKER_URL.startswith("redis://")


def test_plain_pytest_uses_postgresql_and_redis_on_localhost():
    run = _pytest({})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout
    shown = subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = "
         "'coregit_project.test_settings'; django.setup(); from django.conf import settings as s; "
         "d = s.DATABASES['default']; print(d['HOST'], d['PORT'], s.CELERY_BROKER_URL)"],
        cwd=ROOT, env=_clean_env(),
        capture_output=True, text=True, timeout=300)
    assert shown.stdout.split() == ["127.0.0.1", "5432", "redis://127.0.0.1:6379/0"], shown.stderr


@pytest.mark.parametrize("env,says", [
    ({"DATABASE_URL": "postgres://postgres@127.0.0.1:1/test"}, "PostgreSQL unreachable"),
    ({"CELERY_BROKER_URL": "redis://127.0.0.1:1/0"}, "Redis unreachable"),
    ({"DATABASE_URL": "sqlite:///x.sqlite3"}, "DATABASE_URL must point at PostgreSQL"),
    ({"CI": "true", "DATABASE_URL": "postgres://postgres@127.0.0.1:1/test"},
     "PostgreSQL unreachable"),
    ({"CI": "true", "COREGIT_TEST_EMBEDDED": "1"}, "COREGIT_TEST_EMBEDDED=1 is refused on CI"),
])
def test_missing_services_fail_the_run_with_a_clear_message(env, says):
    run = _pytest(env)
    assert run.returncode == 3, run.stdout + run.stderr
    assert says in run.stdout + run.stderr
    assert "COREGIT_TEST_EMBEDDED=1" in run.stdout + run.stderr  # says how to opt in, too


def test_embedded_mode_is_opt_in_and_really_embedded():
    run = _pytest({"COREGIT_TEST_EMBEDDED": "1"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_ci_entry_point_keeps_exit_codes_and_prints_pytest_closing_line():
    # Never recurse: the inner run only runs the probe (and refuses to run this test again).
    assert "COREGIT_CI_GUARD_INNER" not in os.environ
    env = {"COREGIT_TEST_ID": os.environ.get("COREGIT_TEST_ID", ""), "COREGIT_CI_GUARD_INNER": "1"}
    ok = subprocess.run(["bash", ".ci/run"], cwd=ROOT, capture_output=True, text=True, timeout=1800,
                        env={**_clean_env(), **env, "ARGS": f"-q -p no:cacheprovider {PROBE}"})
    assert ok.returncode == 0, ok.stdout + ok.stderr
    tail = ok.stdout.strip().splitlines()[-2:]
    assert tail[0].startswith("ci: pytest: 1 passed in "), tail
    assert tail[1].startswith("ci: finished in ") and tail[1].endswith("exit code 0"), tail

    bad = subprocess.run(["bash", ".ci/run"], cwd=ROOT, capture_output=True, text=True, timeout=1800,
                         env={**_clean_env(), **env, "ARGS": "-q -p no:cacheprovider "
                              "tests/test_ci_guard.py::no_such_test"})
    assert bad.returncode != 0
    tail = bad.stdout.strip().splitlines()[-2:]
    assert tail[0].startswith("ci: pytest: no tests ran in "), tail
    assert tail[1].endswith(f"exit code {bad.returncode}"), tail


def _clean_env() -> dict:
    # MAKEFLAGS carries an outer `make test ARGS=...` into the inner make, where it would win over
    # the ARGS given here.
    drop = {*SERVICE_VARS, "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}
    return {k: v for k, v in os.environ.items() if k not in drop}
