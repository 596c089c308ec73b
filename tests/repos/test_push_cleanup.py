"""Issue 11 point 8: a refused or cut-off push leaves no temporary file in the repository."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.signals import request_finished, request_started
from dulwich.protocol import pkt_line

from tests.support.gitcli import git, git_env

pytestmark = pytest.mark.django_db(transaction=True)
MARK = "cut-off-push"


def leftovers(repo_path: Path) -> list[str]:
    objects = repo_path / "objects"
    found = [*objects.glob("tmp_pack_*"), *objects.glob("incoming-*"),
             *(objects / "pack").glob("tmp*")]
    return sorted(str(path.relative_to(repo_path)) for path in found)


def packs(repo_path: Path) -> list[str]:
    return sorted(path.name for path in (repo_path / "objects" / "pack").iterdir())


def _random_commit(hosted, work: Path, size: int) -> str:
    (work / "noise.bin").write_bytes(os.urandom(size))
    return hosted.commit(work, "noise")


def test_a_push_refused_for_size_leaves_nothing_behind(hosted, settings):
    settings.COREGIT_MAX_PUSH_BYTES = 64 * 1024
    work = hosted.clone("w")
    _random_commit(hosted, work, 1024 * 1024)

    pushed = git("-c", "http.postBuffer=10000000", "push", hosted.url, "main", cwd=work,
                 home=hosted.home, check=False)

    assert pushed.returncode != 0 and b"unpack" in pushed.stderr, pushed.stderr
    assert hosted.ref(b"refs/heads/main") is None
    assert leftovers(hosted.repo.disk_path) == []
    assert packs(hosted.repo.disk_path) == []


def test_a_push_cut_off_mid_pack_leaves_nothing_behind(hosted):
    work = hosted.clone("w")
    tip = _random_commit(hosted, work, 1024 * 1024)
    pack = subprocess.run(["git", "pack-objects", "--stdout", "--revs"], input=b"HEAD\n",
                          cwd=work, env=git_env(hosted.home), capture_output=True, check=True)
    commands = pkt_line(f"{'0' * 40} {tip} refs/heads/main\0report-status\n".encode())
    body = commands + pkt_line(None) + pack.stdout
    with _server_done_with_marked_request() as done:
        _post_half(hosted, body)
        assert done.wait(300), "the server never finished the cut-off request"

    assert hosted.ref(b"refs/heads/main") is None
    assert leftovers(hosted.repo.disk_path) == []
    assert packs(hosted.repo.disk_path) == []
    # The whole push still works (one request: the test server cannot read a chunked body).
    git("-c", "http.postBuffer=10000000", "push", hosted.url, "main", cwd=work, home=hosted.home)
    assert hosted.ref(b"refs/heads/main") == tip and leftovers(hosted.repo.disk_path) == []


@contextmanager
def _server_done_with_marked_request() -> Iterator[threading.Event]:
    """Set once the live server has finished the request carrying ``MARK`` (any outcome)."""
    done, thread = threading.Event(), {}

    def started(environ, **kwargs) -> None:
        if environ.get("HTTP_X_TEST_MARK") == MARK:
            thread["id"] = threading.get_ident()

    def finished(**kwargs) -> None:
        if thread.get("id") == threading.get_ident():  # the server thread handling it
            done.set()

    request_started.connect(started, dispatch_uid=MARK)
    request_finished.connect(finished, dispatch_uid=MARK)
    try:
        yield done
    finally:
        request_started.disconnect(dispatch_uid=MARK)
        request_finished.disconnect(dispatch_uid=MARK)


def _post_half(hosted, body: bytes) -> None:
    """Announce the whole body, send the commands and half the pack, then hang up."""
    url = urlsplit(hosted.plain_url)
    auth = base64.b64encode(f"git:{hosted.key}".encode()).decode()
    head = (
        f"POST {url.path}/git-receive-pack HTTP/1.1\r\nHost: {url.netloc}\r\n"
        f"Authorization: Basic {auth}\r\nX-Test-Mark: {MARK}\r\n"
        "Content-Type: application/x-git-receive-pack-request\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port), timeout=120) as conn:
        conn.sendall(head + body[: len(body) // 2])
        conn.shutdown(socket.SHUT_WR)


def test_a_thin_push_through_the_quarantine_resolves_its_deltas(hosted):
    work = hosted.clone("w")
    lines = [f"line {n} {os.urandom(16).hex()}\n" for n in range(20000)]
    (work / "big.txt").write_text("".join(lines))
    hosted.commit(work, "big")
    git("push", hosted.url, "main", cwd=work, home=hosted.home)
    lines[100] = "changed\n"
    (work / "big.txt").write_text("".join(lines))
    second = hosted.commit(work, "small change")

    pushed = git("push", "--thin", "-v", hosted.url, "main", cwd=work, home=hosted.home)

    assert hosted.ref(b"refs/heads/main") == second, pushed.stderr
    assert leftovers(hosted.repo.disk_path) == []
    clone = hosted.tmp / "clone"
    git("clone", hosted.url, str(clone), home=hosted.home)
    assert (clone / "big.txt").read_text() == "".join(lines)
    fsck = git("fsck", "--strict", cwd=hosted.repo.disk_path, home=hosted.home, check=False)
    assert fsck.returncode == 0, fsck.stderr
