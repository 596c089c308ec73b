"""The database restarting (seen through a TCP proxy that drops connections) makes no API request
fail: a connection that died with the restart is replaced, not used for one more request."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

from tests.support.tcp_proxy import tcp_proxy

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def _database():
    db = connection.settings_dict
    return db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)


def _wait_for(condition, seconds: float = 120, what: str = "condition"):
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_api_answers_the_first_request_after_a_database_restart(master_key, tmp_path):
    db = connection.settings_dict
    with tcp_proxy(*_database()) as proxy:
        port = _free_port()
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "coregit_project.test_settings",
               "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@127.0.0.1:"
                               f"{proxy.port}/{db['NAME']}",
               "COREGIT_REPO_ROOT": str(settings.COREGIT_REPO_ROOT)}
        env.pop("COREGIT_TEST_ID", None)  # DATABASE_URL already names the test database
        log = open(tmp_path / "gunicorn.log", "wb")
        # One thread: every request reuses the one persistent connection, as a busy thread does.
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "coregit_project.wsgi",
             "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "1"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}/v1/repos"
            headers = {"x-api-key": master_key}

            def answer():
                try:
                    return requests.get(url, headers=headers, timeout=30)
                except requests.ConnectionError:
                    assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
                    return None

            assert _wait_for(answer, what="gunicorn").status_code == 200
            proxy.restart()  # PostgreSQL restarted: the open connection is dead
            statuses = [requests.get(url, headers=headers, timeout=30).status_code
                        for _ in range(3)]
            assert statuses == [200, 200, 200], (tmp_path / "gunicorn.log").read_text()[-3000:]
        finally:
            server.terminate()
            server.wait(30)
