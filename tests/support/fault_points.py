"""Test-only fault points inside a real Celery worker, loaded with ``celery worker --include``.

Production code has no hook: this module wraps ``repos.storage.cas_ref`` in the worker process
when ``COREGIT_FAULT_AFTER_BRANCH_WRITE`` names a marker file. The first successful update of a
branch ref (``refs/heads/...``) then creates the marker and blocks forever, so a test can SIGKILL
the worker right after the ref is written and before the run is recorded. One-shot across
processes: the marker is created exclusively, so a retried run after the kill passes through.
"""

from __future__ import annotations

import os
import threading

from repos import storage

MARKER = os.environ.get("COREGIT_FAULT_AFTER_BRANCH_WRITE", "")


def _first_time() -> bool:
    try:
        fd = os.open(MARKER, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return False
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    return True


def _install() -> None:
    original = storage.cas_ref

    def cas_ref(repo, ref, old, new, *, message=b""):
        original(repo, ref, old, new, message=message)
        if ref.startswith(b"refs/heads/") and _first_time():
            threading.Event().wait()  # until the test kills this process

    storage.cas_ref = cas_ref


if MARKER:
    _install()
