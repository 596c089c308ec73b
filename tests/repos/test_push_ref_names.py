"""Issue 11 point 9: ref names git's receive-pack refuses are refused cleanly, one by one.

A refused name gets ``ng <ref> <reason>``; the other refs of the same push are written and
announced (``branch_pushed``), and the server never answers 500.
"""

from __future__ import annotations

import hashlib
import os

import pytest
import requests
from dulwich.protocol import pkt_line

from repos.signals import branch_pushed
from tests.support.gitcli import git

pytestmark = pytest.mark.django_db(transaction=True)
NOT_UTF8 = os.fsdecode(b"refs/heads/caf\xe9")  # Latin-1 bytes: git accepts the name, we do not


def test_one_level_and_non_utf8_refs_are_refused_and_the_rest_of_the_push_lands(hosted):
    work = hosted.clone("w")
    tip = git("rev-parse", "HEAD", cwd=work, home=hosted.home).stdout.decode().strip()

    pushed = git("push", "--porcelain", hosted.url, "HEAD:refs/foo", f"HEAD:{NOT_UTF8}",
                 "HEAD:refs/heads/main", "HEAD:refs/heads/zz-last", cwd=work, home=hosted.home,
                 check=False)

    output = (pushed.stdout + pushed.stderr).decode(errors="replace")
    assert pushed.returncode != 0 and "HTTP 500" not in output, output
    assert "refs/foo\t[remote rejected] (funny refname: one level" in output, output
    assert "[remote rejected] (funny refname: not valid UTF-8)" in output, output
    assert hosted.ref(b"refs/foo") is None and hosted.ref(b"refs/heads/caf\xe9") is None
    assert hosted.ref(b"refs/heads/main") == tip and hosted.ref(b"refs/heads/zz-last") == tip
    assert sorted(hosted.pushes) == [("refs/heads/main", None, tip),
                                     ("refs/heads/zz-last", None, tip)]


def _empty_pack() -> bytes:
    body = b"PACK" + (2).to_bytes(4, "big") + (0).to_bytes(4, "big")
    return body + hashlib.sha1(body).digest()  # noqa: S324 - git's pack checksum


def test_a_ref_name_with_a_space_is_refused_without_failing_the_push(hosted):
    """git will not send such a name, so this client writes the pkt-lines itself."""
    work = hosted.clone("w")
    git("push", hosted.url, "main", cwd=work, home=hosted.home)
    tip = hosted.ref(b"refs/heads/main")
    hosted.pushes.clear()
    zero = "0" * 40
    commands = (
        pkt_line(f"{zero} {tip} refs/heads/with space\0report-status\n".encode())
        + pkt_line(f"{zero} {tip} refs/heads/fine\n".encode())
        + pkt_line(None)
    )

    answer = requests.post(
        hosted.plain_url + "/git-receive-pack", data=commands + _empty_pack(),
        auth=("git", hosted.key), timeout=120,
        headers={"Content-Type": "application/x-git-receive-pack-request"},
    )

    assert answer.status_code == 200, answer.text
    assert b"ng refs/heads/with space funny refname" in answer.content, answer.content
    assert b"ok refs/heads/fine" in answer.content, answer.content
    assert hosted.ref(b"refs/heads/fine") == tip
    assert not (hosted.repo.disk_path / "refs" / "heads" / "with space").exists()
    assert hosted.pushes == [("refs/heads/fine", None, tip)]



def test_a_failing_push_receiver_neither_fails_the_push_nor_silences_the_other_refs(hosted):
    def broken(sender, ref, **kwargs) -> None:
        raise RuntimeError(f"receiver broke on {ref}")

    branch_pushed.connect(broken)  # after the fixture's recorder: it hears each ref first
    try:
        work = hosted.clone("w")
        tip = git("rev-parse", "HEAD", cwd=work, home=hosted.home).stdout.decode().strip()
        git("push", hosted.url, "HEAD:refs/heads/a", "HEAD:refs/heads/b", cwd=work,
            home=hosted.home)
    finally:
        branch_pushed.disconnect(broken)
    assert sorted(hosted.pushes) == [("refs/heads/a", None, tip), ("refs/heads/b", None, tip)]


@pytest.mark.parametrize(("name", "refused"), [
    (b"refs/heads/main", False), (b"refs/tags/v1.0", False), (b"refs/heads/feat/x", False),
    (b"refs/heads/caf\xc3\xa9", False), (b"refs/foo", True), (b"refs/heads/caf\xe9", True),
    (b"refs/heads/a b", True), (b"refs/heads/a..b", True), (b"refs/heads/x.lock", True),
    (b"refs/heads/x~1", True), (b"HEAD", True), (b"heads/main", True), (b"refs/heads/", True),
])
def test_pushed_ref_names_follow_git_receive_pack(name, refused):
    from repos.validation import pushed_ref_error

    assert (pushed_ref_error(name) is not None) is refused
