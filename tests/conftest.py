"""Test configuration: real PostgreSQL and Redis, or a clear failure; embedded mode is opt-in."""

import os

import pytest

from tests.support import figures

pytest_plugins = ["tests.fixtures"]

HOW = ("start them with `make services`, point DATABASE_URL / CELERY_BROKER_URL at them, "
       "or opt in to the embedded mode with COREGIT_TEST_EMBEDDED=1 (never on CI)")


def pytest_configure(config):
    from django.conf import settings

    if getattr(settings, "EMBEDDED", False):
        if os.environ.get("CI") == "true":
            pytest.exit("COREGIT_TEST_EMBEDDED=1 is refused on CI: CI tests against PostgreSQL "
                        "and Redis", returncode=3)
        return
    engine = settings.DATABASES["default"]["ENGINE"]
    broker = settings.CELERY_BROKER_URL
    problems = []
    if "postgresql" not in engine:
        problems.append(f"DATABASE_URL must point at PostgreSQL (got {engine})")
    if not broker.startswith("redis://"):
        problems.append(f"CELERY_BROKER_URL must point at Redis (got {broker.split('://')[0]}://)")
    if not problems:
        problems += _unreachable(settings)
    if problems:
        pytest.exit("the tests need PostgreSQL and Redis: " + "; ".join(problems) + f". {HOW}",
                    returncode=3)


def _unreachable(settings) -> list[str]:
    import psycopg
    import redis

    out = []
    db = settings.DATABASES["default"]
    try:
        psycopg.connect(
            # The maintenance database: the test database is created by pytest-django itself.
            host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname="postgres",
            password=db["PASSWORD"] or None, connect_timeout=10,
        ).close()
    except psycopg.Error as exc:
        out.append(f"PostgreSQL unreachable at {db['HOST']}:{db['PORT'] or 5432}: {exc}")
    try:
        redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=10).ping()
    except redis.RedisError as exc:
        out.append(f"Redis unreachable: {exc}")
    return out


def pytest_sessionfinish(session):
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller prints the figures
        workeroutput["figures"] = list(figures.FIGURES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    figures.FIGURES.extend(getattr(node, "workeroutput", {}).get("figures", []))


def pytest_terminal_summary(terminalreporter):
    if figures.FIGURES:
        terminalreporter.section("fault recovery figures")
        for line in figures.FIGURES:
            terminalreporter.write_line(line)
