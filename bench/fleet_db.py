"""A throw-away PostgreSQL database (and data directory) for the fleet benchmarks.

Each benchmark gets its own database on the shared server, named after the benchmark and
``COREGIT_TEST_ID``, so it never touches a test session's or the service's data; it is dropped
at the end. Django is set up against it here, before any model is imported.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")


def session_name(base: str, sep: str = "_") -> str:
    """``base`` plus this session's ``COREGIT_TEST_ID`` (lowercase letters, digits and ``sep``
    only): benchmarks run side by side on the shared servers never drop, purge or count each
    other's databases and queues."""
    raw = f"{base}{sep}{os.environ.get('COREGIT_TEST_ID', 'local')}".lower()
    return re.sub(r"[^a-z0-9]", sep, raw)


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


@contextmanager
def bench_database(name: str) -> Iterator[dict[str, str]]:
    """Create ``bench_<name>_<id>``, point Django at it, migrate; yields the environment a
    worker subprocess needs to share it."""
    db = session_name(f"bench_{name}")
    _admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{db}"')
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as data:
        env = {"DATABASE_URL": f"{SERVER}/{db}", "CELERY_BROKER_URL": REDIS,
               "COREGIT_DATA_DIR": str(Path(data)), "DEBUG": "1",
               "COREGIT_ALLOW_PRIVATE_HOSTS": "1", "DJANGO_SETTINGS_MODULE":
               "coregit_project.settings", "LOG_LEVEL": "WARNING"}
        os.environ.update(env)
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        try:
            yield env
        finally:
            from django.db import connections

            connections.close_all()
            _admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
