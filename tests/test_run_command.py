"""The README's run command on a fresh data directory: API + worker on embedded defaults."""

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.support.gitcli import authed_url, git

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _embedded_env(tmp_path: Path, port: int) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "SECRET_KEY",
                        "COREGIT_ENCRYPTION_KEYS", "COREGIT_REPO_ROOT", "DJANGO_SETTINGS_MODULE"}}
    env.update(COREGIT_DATA_DIR=str(tmp_path / "data"), PORT=str(port), LOG_LEVEL="WARNING")
    return env


def _wait_healthy(url: str, proc: subprocess.Popen, deadline: float) -> dict:
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the run command exited early"
        try:
            resp = requests.get(url, timeout=2)
            if resp.status_code == 200:
                return resp.json()
        except (requests.ConnectionError, requests.Timeout):  # workers still booting
            pass
        time.sleep(0.2)
    raise AssertionError("/healthz never answered 200")


@pytest.mark.slow
def test_run_command_serves_api_and_worker_on_embedded_defaults(tmp_path):
    port = _free_port()
    env = _embedded_env(tmp_path, port)
    log = open(tmp_path / "run.log", "wb")
    started = time.monotonic()
    proc = subprocess.Popen(["make", "run"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        health = _wait_healthy(f"http://127.0.0.1:{port}/healthz", proc, started + 120)
        elapsed = time.monotonic() - started
        print(f"\nrun command answered /healthz in {elapsed:.1f}s")
        assert health == {"status": "ok", "database": "ok", "broker": "ok"}
        output = (tmp_path / "run.log").read_text()
        key = re.search(r"Master API key \(shown once\): (\S+)", output).group(1)
        assert (tmp_path / "data" / "db.sqlite3").exists()  # SQLite, not PostgreSQL

        # The worker really consumes from the serverless broker.
        check = subprocess.run(
            [str(ROOT / ".venv/bin/python"), "manage.py", "check_worker", "--timeout", "60"],
            cwd=ROOT, env={**env, "DEBUG": "true", **_secrets(tmp_path)}, capture_output=True,
        )
        assert check.returncode == 0, check.stderr.decode()

        # A push larger than git's 1 MiB postBuffer goes chunked through gunicorn.
        api = f"http://127.0.0.1:{port}/v1"
        made = requests.post(f"{api}/repos", json={"slug": "big"}, headers={"x-api-key": key},
                             timeout=10)
        assert made.status_code == 201
        url = authed_url(f"http://127.0.0.1:{port}", key, "demo/big.git")
        work = tmp_path / "work"
        git("init", str(work), home=tmp_path)
        (work / "blob.bin").write_bytes(os.urandom(3 * 1024 * 1024))
        git("add", ".", cwd=work, home=tmp_path)
        git("commit", "-m", "big", cwd=work, home=tmp_path)
        git("push", url, "main", cwd=work, home=tmp_path)
        git("clone", url, str(tmp_path / "copy"), home=tmp_path)
        assert (tmp_path / "copy" / "blob.bin").read_bytes() == (work / "blob.bin").read_bytes()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


def _secrets(tmp_path: Path) -> dict:
    lines = (tmp_path / "data" / "secrets.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def test_debug_off_refuses_to_start_without_secrets(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in {"SECRET_KEY", "COREGIT_ENCRYPTION_KEYS", "DEBUG"}}
    env.update(DJANGO_SETTINGS_MODULE="coregit_project.settings", COREGIT_DATA_DIR=str(tmp_path))
    python = str(ROOT / ".venv/bin/python")
    run = subprocess.run([python, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True)
    assert run.returncode != 0
    assert run.stderr.decode().strip() == (
        "coregit: SECRET_KEY is not set (required when DEBUG is off)"
    )
    env["SECRET_KEY"] = "x"
    run = subprocess.run([python, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True)
    assert run.stderr.decode().strip() == (
        "coregit: COREGIT_ENCRYPTION_KEYS is not set (required when DEBUG is off)"
    )
