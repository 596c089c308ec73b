"""Test configuration: real PostgreSQL and Redis; on CI a missing service fails loudly."""

import os

import pytest

pytest_plugins = ["tests.fixtures"]


def pytest_configure(config):
    from django.conf import settings

    real = os.environ.get("CI") == "true" or os.environ.get("COREGIT_TEST_REAL_SERVICES") == "1"
    if not real:
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
        pytest.exit("real services required: " + "; ".join(problems), returncode=3)


def _unreachable(settings) -> list[str]:
    import psycopg
    import redis

    out = []
    db = settings.DATABASES["default"]
    try:
        psycopg.connect(
            # The maintenance database: the test database is created by pytest-django itself.
            host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname="postgres",
            password=db["PASSWORD"] or None, connect_timeout=5,
        ).close()
    except psycopg.Error as exc:
        out.append(f"PostgreSQL unreachable: {exc}")
    try:
        redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=5).ping()
    except redis.RedisError as exc:
        out.append(f"Redis unreachable: {exc}")
    return out
