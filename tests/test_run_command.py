"""The README's run command on a fresh data directory: API + worker on embedded defaults."""

import os
import stat
import subprocess
import time

import pytest
import requests

from tests.support.gitcli import authed_url, git
from tests.support.make_run import ROOT, free_port, group_priorities, make_run, stop, terminal_env

PYTHON = str(ROOT / ".venv/bin/python")


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_run_command_serves_api_and_worker_on_embedded_defaults(tmp_path):
    started = time.monotonic()
    with make_run(tmp_path) as run:
        print(f"\nrun command answered /healthz in {time.monotonic() - started:.1f}s")
        assert requests.get(f"{run.base}/healthz", timeout=60).json() == {
            "status": "ok", "database": "ok", "broker": "ok"}
        assert (run.data / "db.sqlite3").exists()  # SQLite, not PostgreSQL
        # Syncs yield the CPU to requests: the worker runs 10 nice levels below gunicorn.
        priorities = group_priorities(run.proc.pid, ("celery", "gunicorn"))
        (worker,), (web,) = priorities["celery"], priorities["gunicorn"]
        assert worker - web == 10, priorities

        # The master key is in a file only its owner can read, and never in the output.
        key_file = run.data / "demo-master-key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_text().strip()
        assert key.startswith("cgk_") and key not in run.output()
        assert str(key_file) in run.output()

        # manage.py in another terminal: nothing sourced, nothing set but the data directory.
        # The worker really consumes from the serverless broker.
        check = subprocess.run(
            [PYTHON, "manage.py", "check_worker", "--timeout", "600"], cwd=ROOT,
            env=terminal_env(tmp_path / "home", COREGIT_DATA_DIR=str(run.data)),
            capture_output=True, text=True, timeout=900,
        )
        assert check.returncode == 0, check.stderr

        # A push larger than git's 1 MiB postBuffer goes chunked through gunicorn.
        made = requests.post(f"{run.base}/v1/repos", json={"slug": "big"},
                             headers={"x-api-key": key}, timeout=120)
        assert made.status_code == 201
        url = authed_url(run.base, key, "demo/big.git")
        work = tmp_path / "work"
        git("init", str(work), home=tmp_path)
        (work / "blob.bin").write_bytes(os.urandom(3 * 1024 * 1024))
        git("add", ".", cwd=work, home=tmp_path)
        git("commit", "-m", "big", cwd=work, home=tmp_path)
        git("push", url, "main", cwd=work, home=tmp_path)
        git("clone", url, str(tmp_path / "copy"), home=tmp_path)
        assert (tmp_path / "copy" / "blob.bin").read_bytes() == (work / "blob.bin").read_bytes()


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_two_instances_keep_their_own_control_socket_and_honour_host_and_port(tmp_path):
    other_host = "127.0.0.2"  # any loopback address: HOST is honoured, not just PORT
    port_b = free_port(other_host)
    with make_run(tmp_path / "a") as a:
        with make_run(tmp_path / "b", host=other_host, port=port_b) as b:
            assert b.base == f"http://{other_host}:{port_b}"
            with pytest.raises(requests.ConnectionError):
                requests.get(f"http://127.0.0.1:{port_b}/healthz", timeout=60)
            for run in (a, b):
                assert stat.S_ISSOCK((run.data / "gunicorn.ctl").stat().st_mode)
                assert _control(run)["workers"], run.output()[-2000:]
            for home in (tmp_path / "a" / "home", tmp_path / "b" / "home"):
                assert not (home / ".gunicorn").exists()  # gunicorn's shared default
            stop(a)
            assert not (a.data / "gunicorn.ctl").exists()
            assert requests.get(f"{b.base}/healthz", timeout=60).status_code == 200
            assert _control(b)["workers"]  # stopping one never takes the other's socket


def _control(run) -> dict:
    import json

    out = subprocess.run([str(ROOT / ".venv/bin/gunicornc"), "-s", str(run.data / "gunicorn.ctl"),
                          "-c", "show workers", "-j"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_debug_off_refuses_to_start_without_secrets(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in {"SECRET_KEY", "COREGIT_ENCRYPTION_KEYS", "DEBUG"}}
    env.update(DJANGO_SETTINGS_MODULE="coregit_project.settings", COREGIT_DATA_DIR=str(tmp_path))
    run = subprocess.run([PYTHON, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True)
    assert run.returncode != 0
    assert run.stderr.decode().strip() == (
        "coregit: SECRET_KEY is not set (required when DEBUG is off)"
    )
    env["SECRET_KEY"] = "x"
    run = subprocess.run([PYTHON, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True)
    assert run.stderr.decode().strip() == (
        "coregit: COREGIT_ENCRYPTION_KEYS is not set (required when DEBUG is off)"
    )


def test_manage_py_reads_the_files_make_run_wrote_and_the_environment_wins(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "secrets.env").write_text("SECRET_KEY=from-file\nCOREGIT_ENCRYPTION_KEYS=k1:"
                                      "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=\n")
    # The format scripts/run.sh writes: single-quoted, nothing expanded.
    (data / "run.env").write_text("# written by scripts/run.sh\nDEBUG='true'\n"
                                  "DATABASE_URL='postgres://u:p%23$HOME@db.invalid:5433/x'\n"
                                  "COREGIT_PUBLIC_URL='http://127.0.0.2:8123'\n")
    show = ("from django.conf import settings as s; d = s.DATABASES['default']; "
            "print(s.DEBUG, s.SECRET_KEY, d['HOST'], d['PORT'], d['PASSWORD'], s.COREGIT_PUBLIC_URL)")
    env = terminal_env(tmp_path, COREGIT_DATA_DIR=str(data))
    out = subprocess.run([PYTHON, "manage.py", "shell", "-v", "0", "-c", show], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.stdout.split() == ["True", "from-file", "db.invalid", "5433", "p#$HOME",
                                  "http://127.0.0.2:8123"], out.stderr
    env.update(DEBUG="false", SECRET_KEY="from-env")
    out = subprocess.run([PYTHON, "manage.py", "shell", "-v", "0", "-c", show], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.stdout.split()[:2] == ["False", "from-env"], out.stderr
