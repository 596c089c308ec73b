"""What the serving stack alone reaches on this machine, as the intake bench's clients send:
gunicorn with `make run`'s worker model (2 processes x 4 threads, an access log to a file) in
front of (1) a bare WSGI callable and (2) a bare Django project (no middleware, no database),
both answering 202 to a POST of the size of a GitHub push payload.

    python -m bench.serving_floor [--deliveries 2000] [--clients 20]

The webhook intake bench prints these beside its own figures: they bound from below the p99 any
Django view can reach with 20 closed-loop clients sharing the machine, before it does any work.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.http_load import Answer, Client, Sample, fire
from bench.intake_stack import stop_group
from tests.support.make_run import free_port
from tests.support.processes import wait_until

BODY = b"x" * 7500  # about a GitHub push payload with one commit
APPS = {
    "bare_wsgi": '''
def application(environ, start_response):
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("202 Accepted", [("Content-Type", "application/json")])
    return [b'{"status": "queued"}']
''',
    "bare_django": '''
from django.conf import settings
settings.configure(DEBUG=False, ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"], MIDDLEWARE=[],
                   SECRET_KEY="floor")
from django.core.wsgi import get_wsgi_application
from django.http import JsonResponse
from django.urls import path

def hook(request):
    request.body
    return JsonResponse({"status": "queued"}, status=202)

urlpatterns = [path("hook", hook)]
application = get_wsgi_application()
''',
}
LABELS = {"bare_wsgi": "gunicorn + a bare WSGI callable",
          "bare_django": "gunicorn + a bare Django view (no middleware, no database)"}


@contextlib.contextmanager
def _gunicorn(module: str, source: str, tmp: Path) -> Iterator[str]:
    (tmp / f"{module}.py").write_text(source)
    port = free_port()
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), f"{module}:application", "--bind",
         f"127.0.0.1:{port}", "--workers", "2", "--threads", "4", "--access-logfile",
         str(tmp / f"{module}.log")], cwd=tmp, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: _listening(port, proc), timeout=60, what=f"gunicorn serving {module}")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_group(proc)


def _listening(port: int, proc: subprocess.Popen) -> bool:
    if proc.poll() is not None:
        raise RuntimeError(f"gunicorn exited with {proc.returncode}")
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
        return True
    return False


def _send(conn: Client, _item: int) -> Answer:
    return conn.post("/hook", BODY, {"Content-Type": "application/json"})


def measure(deliveries: int, clients: int) -> dict[str, Sample]:
    """One warm-up burst, then the measured one, per stack. Every answer must be the app's 202:
    a floor made of refusals would be fast and mean nothing."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        for module, source in APPS.items():
            with _gunicorn(module, source, Path(tmp)) as base:
                fire(base, list(range(deliveries // 4)), clients, _send)
                sample = fire(base, list(range(deliveries)), clients, _send)
            if dict(sample.statuses) != {202: deliveries}:
                raise RuntimeError(f"{module} answered {dict(sample.statuses)}, not 202s")
            out[module] = sample
    return out


def lines(samples: dict[str, Sample]) -> list[str]:
    return [f"serving floor, {LABELS[m]}: {s.line()}" for m, s in samples.items()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--deliveries", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=20)
    args = ap.parse_args()
    print("\n".join(lines(measure(args.deliveries, args.clients))))


if __name__ == "__main__":
    main()
