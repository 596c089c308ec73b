import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> list[str]:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    assert legacy, "neither `docker compose` nor `docker-compose` is installed (.ci/run installs it)"
    return [legacy]


def test_docker_compose_config_accepts_the_file():
    env = {"SECRET_KEY": "x", "COREGIT_ENCRYPTION_KEYS": "k1:abc", "PATH": "/usr/bin:/bin"}
    run = subprocess.run([*_compose(), "-f", "docker-compose.yml", "config"], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    for service in ("postgres", "redis", "web", "worker", "beat"):
        assert f"  {service}:" in run.stdout
    assert "gunicorn" in run.stdout and "celery -A workers.celery beat" in run.stdout
