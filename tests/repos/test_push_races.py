"""Issue 11 point 1: a push that loses a ref race is refused (``ng``), never reported ``ok``.

The pushes are real ``git push`` processes through our smart HTTP server. The server holds the
push at its update hook (after the pack was received, right before the ref's compare-and-swap),
the race's winner moves the branch meanwhile, then the push goes on.
"""

from __future__ import annotations

import pytest
import requests
from dulwich.server import ReceivePackHandler

from connections.providers.base import GitAccess
from core.errors import RefConflict
from repos import storage
from sync.engine.importer import run_import
from sync.engine.types import ImportRequest
from tests.repos.conftest import Gate
from tests.support.git_http_backend import serve_git
from tests.support.gitcli import git
from tests.sync.engine.worktree import WorkTree

pytestmark = pytest.mark.django_db(transaction=True)
MAIN = b"refs/heads/main"


@pytest.fixture
def held_main(monkeypatch) -> Gate:
    gate = Gate()
    on_update = ReceivePackHandler._on_update  # dulwich runs it right before the ref's update

    def held(self, ref_name: bytes, old_sha: bytes, new_sha: bytes):
        if ref_name == MAIN:
            gate.hold()
        return on_update(self, ref_name, old_sha, new_sha)

    monkeypatch.setattr(ReceivePackHandler, "_on_update", held)
    return gate


def _finish(push) -> tuple[int, str]:
    out, err = push.communicate(timeout=300)
    return push.returncode, (out + err).decode()


def test_a_push_racing_an_import_is_refused_and_not_announced(hosted, held_main, tmp_path):
    first = hosted.clone("first")
    git("push", hosted.url, "main", cwd=first, home=hosted.home)
    mine = hosted.commit(first, "mine")
    git("branch", "feature", cwd=first, home=hosted.home)
    hosted.pushes.clear()

    with serve_git(tmp_path / "served") as server, requests.Session() as session:
        remote = server.create_repo("remote.git")
        upstream = WorkTree(tmp_path / "upstream", hosted.home, remote)
        upstream.write("upstream.txt", "from the remote\n")
        upstream.git("add", "-A")
        upstream.git("commit", "-q", "-m", "upstream")
        upstream.git("push", "-q", str(remote), "HEAD:refs/heads/main")

        held_main.armed.set()
        push = hosted.push_async(first, "main", "feature")
        assert held_main.reached.wait(300), "the push never reached the ref update"
        imported = run_import(ImportRequest(
            repo_path=hosted.repo.disk_path, branch="main", force=True,
            remote=GitAccess(url=server.url("remote.git"), username="", password=""),
            tracking_ref=b"refs/sync/sync_race/remote", remote_label="remote",
        ), session)
        held_main.released.set()
        code, output = _finish(push)

    assert imported.status == "success"
    assert code != 0, output
    assert "failed to update ref" in output and "moved during the push" in output, output
    assert hosted.ref(MAIN) == imported.commit_sha  # the import's commit stands
    assert hosted.ref(b"refs/heads/feature") == mine  # the other ref of the push landed
    assert hosted.pushes == [("refs/heads/feature", None, mine)]  # and only it is announced


def test_the_later_of_two_racing_pushes_is_refused(hosted, held_main):
    slow, fast = hosted.clone("slow"), hosted.clone("fast")
    git("push", hosted.url, "main", cwd=slow, home=hosted.home)
    base = hosted.ref(MAIN)
    git("fetch", hosted.url, "main", cwd=fast, home=hosted.home)
    git("reset", "--hard", "FETCH_HEAD", cwd=fast, home=hosted.home)
    slow_tip, fast_tip = hosted.commit(slow, "slow-2"), hosted.commit(fast, "fast-2")
    hosted.pushes.clear()

    held_main.armed.set()
    push = hosted.push_async(slow, "main")
    assert held_main.reached.wait(300), "the push never reached the ref update"
    git("push", hosted.url, "main", cwd=fast, home=hosted.home)  # not held: the gate is taken
    held_main.released.set()
    code, output = _finish(push)

    assert code != 0 and "failed to update ref" in output, output
    assert hosted.ref(MAIN) == fast_tip != slow_tip
    assert hosted.pushes == [("refs/heads/main", base, fast_tip)]


def test_a_locked_ref_refuses_the_push_and_the_sync_with_a_conflict(hosted):
    work = hosted.clone("w")
    git("push", hosted.url, "main", cwd=work, home=hosted.home)
    before = hosted.ref(MAIN)
    after = hosted.commit(work, "second")
    hosted.pushes.clear()
    lock = hosted.repo.disk_path / "refs" / "heads" / "main.lock"
    lock.write_bytes(b"")  # another writer is in the middle of updating main

    code, output = _finish(hosted.push_async(work, "main"))
    assert code != 0 and "another update holds its lock" in output, output
    assert "500" not in output
    with storage.open_repo(hosted.repo.disk_path) as repo, \
            pytest.raises(RefConflict, match="locked") as conflict:
        storage.cas_ref(repo, MAIN, before.encode(), after.encode())
    assert conflict.value.transient
    assert hosted.ref(MAIN) == before and hosted.pushes == []

    lock.unlink()
    git("push", hosted.url, "main", cwd=work, home=hosted.home)
    assert hosted.ref(MAIN) == after
    assert hosted.pushes == [("refs/heads/main", before, after)]


def test_a_branch_deletion_racing_a_push_is_refused(hosted, held_main):
    deleter, pusher = hosted.clone("deleter"), hosted.clone("pusher")
    git("push", hosted.url, "main", cwd=deleter, home=hosted.home)
    git("fetch", hosted.url, "main", cwd=pusher, home=hosted.home)
    git("reset", "--hard", "FETCH_HEAD", cwd=pusher, home=hosted.home)
    moved = hosted.commit(pusher, "moved")
    hosted.pushes.clear()

    held_main.armed.set()
    delete = hosted.push_async(deleter, "--delete", "main")
    assert held_main.reached.wait(300), "the deletion never reached the ref update"
    git("push", hosted.url, "main", cwd=pusher, home=hosted.home)
    held_main.released.set()
    code, output = _finish(delete)

    assert code != 0 and "failed to update ref" in output, output
    assert hosted.ref(MAIN) == moved
    assert [ref for ref, _, _ in hosted.pushes] == ["refs/heads/main"]  # the push, not the delete
