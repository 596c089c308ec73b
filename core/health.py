"""``/healthz``: is the database answering, and can we reach the broker?"""

from django.db import connection
from django.http import JsonResponse


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # noqa: BLE001 - health reports any failure as text
        return f"error: {type(exc).__name__}"


def _broker() -> str:
    from kombu import Connection

    from workers.celery import app

    try:
        # A fresh connection to the configured URL: the app's pool may hold a stale one.
        url = app.conf.broker_write_url or app.conf.broker_url
        options = app.conf.broker_transport_options or {}
        with Connection(url, transport_options=options, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return f"error: {type(exc).__name__}"


def healthz(request):
    checks = {"database": _database(), "broker": _broker()}
    ok = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if ok else "degraded", **checks}, status=200 if ok else 503)
