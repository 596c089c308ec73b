"""The fake remote of bench/export_scale, and its "git itself" baseline: plain ``git push``.

One server process per provider and round holds two empty repositories: ``REMOTE`` for our
export and ``REMOTE + "-git"`` for the baseline, so both go through the same process, the same
``--latency`` and the same ``--bandwidth-mb`` link. The server's counters (requests, body bytes,
when the first and last body bytes came) are taken and reset after each of the two runs.

The baseline is the git CLI pushing the local commit (the same 100,000-file tree) to the empty
repository over smart HTTP, with the token as HTTP Basic credentials: git sends them from the
first request (``http.extraHeader``, as CI checkouts do) rather than after a 401, which would
cost it one more round trip than our client pays. Everything else is git's defaults, so it also
sends its small probe POST before a body larger than ``http.postBuffer`` (3 requests, not 2).
Timed wall-clock from the start of ``git push`` to its exit.
"""

from __future__ import annotations

import base64
import contextlib
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bench.common import ROOT, TOKEN, fake_factory

REMOTE = {"github": "octo/scale", "gitlab": "group/scale"}
GIT_REMOTE = {provider: name + "-git" for provider, name in REMOTE.items()}
GIT_USER = {"github": "x-access-token", "gitlab": "oauth2"}  # what each provider documents


def _take(stats) -> dict:
    """The counters of the run that just ended, reset for the next one (none is in flight)."""
    taken = {"requests": stats.requests, "bytes_in": stats.bytes_in, "busy": stats.busy,
             "first_read": stats.first_read, "last_read": stats.last_read}
    stats.requests = stats.bytes_in = 0
    stats.busy = stats.first_read = stats.last_read = 0.0
    return taken


def _serve(provider: str, root: str, latency: float, bandwidth: float, conn) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("SECRET_KEY", "bench")
    from tests.fakes import smart_http
    from tests.fakes.http_server import Stats, serve_fake

    smart_http.GIT_BINARY = "git"
    stats = Stats(latency, bandwidth)
    make = fake_factory(provider, root, REMOTE[provider], GIT_REMOTE[provider])
    with serve_fake(make, stats=stats) as (_fake, host):
        conn.send(host)
        while conn.recv() == "stats":
            conn.send(_take(stats))


@contextlib.contextmanager
def fake_remote(provider: str, root: Path, latency: float, bandwidth: float
                ) -> Iterator[tuple[str, Callable[[], dict]]]:
    """A fake in its own process: yields its address and a function taking its counters."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(provider, str(root), latency, bandwidth, child))
    server.start()

    def take() -> dict:
        parent.send("stats")
        return parent.recv()

    try:
        yield parent.recv(), take
    finally:
        if server.is_alive():
            parent.send("stop")
        server.join(timeout=120)


def git_push(provider: str, host: str, local: Path) -> dict:
    """``git push`` of the local ``main`` to the empty baseline repository; wall and outcome."""
    auth = base64.b64encode(f"{GIT_USER[provider]}:{TOKEN[provider]}".encode()).decode()
    url = f"{host}/{GIT_REMOTE[provider]}.git"
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    started, start = time.perf_counter(), time.monotonic()  # monotonic: the fake's clock too
    out = subprocess.run(["git", "--git-dir", str(local), "-c", "credential.helper=",
                          "-c", f"http.extraHeader=Authorization: Basic {auth}",
                          "push", "-q", url, "refs/heads/main:refs/heads/main"],
                         capture_output=True, text=True, env=env)
    seconds, end = time.perf_counter() - started, time.monotonic()
    status = "success" if out.returncode == 0 else f"failed: {out.stderr.strip()[-300:]}"
    return {"status": status, "seconds": seconds, "start": start, "end": end}


def remote_tree(root: Path, provider: str, name: str) -> str:
    return tree(root / provider / f"{name}.git")


def tree(path: Path) -> str:
    return subprocess.run(["git", "rev-parse", "refs/heads/main^{tree}"], cwd=path,
                          capture_output=True, text=True).stdout.strip()
