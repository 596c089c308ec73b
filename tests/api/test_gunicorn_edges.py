"""The API behind gunicorn as `make run` starts it: long URLs get JSON, the docs' assets are
served by the app itself (no CDN, no collectstatic, DEBUG off)."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SIDECAR = "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn_url(transactional_db, tmp_path):
    from django.db import connection

    db = connection.settings_dict
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "coregit_project.settings", "DEBUG": "false",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
           "COREGIT_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "coregit_project.wsgi",
                             "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            try:
                requests.get(url + "/v1/openapi.json", timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def test_long_cursor_is_json_400_through_gunicorn(gunicorn_url, master_key):
    headers = {"x-api-key": master_key}
    ok = requests.get(f"{gunicorn_url}/v1/repos", headers=headers, timeout=30)
    assert ok.status_code == 200, ok.text
    resp = requests.get(f"{gunicorn_url}/v1/repos", params={"cursor": "A" * 6000},
                        headers=headers, timeout=30)
    assert resp.status_code == 400, resp.text[:300]
    assert resp.headers["Content-Type"].startswith("application/json")
    assert "cursor" in resp.json()["details"]


def test_docs_assets_are_served_by_the_app_with_debug_off(gunicorn_url):
    page = requests.get(f"{gunicorn_url}/v1/docs", timeout=30)
    assert page.status_code == 200
    assert "cdn.jsdelivr.net" not in page.text and "@latest" not in page.text
    assert SIDECAR in page.text
    asset = requests.get(gunicorn_url + SIDECAR, timeout=30)
    assert asset.status_code == 200 and len(asset.content) > 100_000
    redoc = requests.get(f"{gunicorn_url}/v1/redoc", timeout=30)
    assert redoc.status_code == 200 and "/static/drf_spectacular_sidecar/redoc/" in redoc.text
