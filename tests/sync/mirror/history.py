"""A history worth mirroring, built with the real git CLI, and ref listings to compare sides."""

from __future__ import annotations

import time
from pathlib import Path

from repos import storage
from tests.support.gitcli import git
from tests.sync.engine.worktree import WorkTree

PATTERNS = ["main", "release/*"]
MATCHED = {"refs/heads/main", "refs/heads/release/1", "refs/heads/release/2",
           "refs/tags/v1", "refs/tags/v2"}


def build_history(wt: WorkTree) -> None:
    """main with a merge, two release branches, a branch the patterns skip, and two tags (one
    lightweight, one annotated); pushed whole to the work tree's remote."""
    wt.write("a.txt", "1\n")
    wt.commit("c1")
    wt.git("tag", "v1")  # lightweight
    wt.git("checkout", "-q", "-b", "release/1")
    wt.write("r.txt", "release one\n")
    wt.commit("r1")
    wt.git("checkout", "-q", "main")
    wt.write("a.txt", "2\n")
    wt.commit("c2")
    wt.git("checkout", "-q", "-b", "feature/x")
    wt.write("f.txt", "not mirrored\n")
    wt.commit("f1")
    wt.git("checkout", "-q", "main")
    wt.git("merge", "-q", "--no-ff", "-m", "merge release/1", "release/1")
    wt.git("tag", "-a", "v2", "-m", "version two")  # annotated
    wt.git("checkout", "-q", "-b", "release/2")
    wt.write("r.txt", "release two\n")
    wt.commit("r2")
    wt.git("checkout", "-q", "main")
    push_all(wt)


def push_all(wt: WorkTree, *extra: str) -> None:
    wt.git("push", "-q", *extra, wt.remote, "refs/heads/*:refs/heads/*",
           "refs/tags/*:refs/tags/*")


def bare_refs(path: Path | str, home: Path) -> dict[str, str]:
    """Every matched ref of a bare repository, read by the git CLI."""
    out = git("for-each-ref", "--format=%(refname) %(objectname)", cwd=Path(path),
              home=home).stdout.decode()
    refs = dict(line.split(" ", 1) for line in out.splitlines() if line)
    return {ref: sha for ref, sha in refs.items() if ref in MATCHED or ref.startswith(
        "refs/heads/release/")}


def local_refs(repo, *, prefix: bytes = b"refs/") -> dict[str, str]:
    with storage.open_repo(repo.disk_path) as r:
        refs = r.get_refs()
    return {k.decode(): v.decode() for k, v in refs.items()
            if k.startswith(prefix) and (k.decode() in MATCHED or k.startswith(
                b"refs/heads/release/"))}


def all_local_refs(repo) -> dict[str, str]:
    with storage.open_repo(repo.disk_path) as r:
        return {k.decode(): v.decode() for k, v in r.get_refs().items() if k != b"HEAD"}


def local_commit_on(repo, ref: bytes, message: str = "local work\n") -> str:
    """A commit pushed straight to the Coregit repository (what a developer's push does)."""
    with storage.open_repo(repo.disk_path) as r:
        head = storage.read_ref(r, ref)
        mine = storage.write_commit(r, tree=storage.commit_tree(r, head), parents=[head],
                                    message=message)
        storage.cas_ref(r, ref, head, mine)
    return mine.decode()


def no_shallow(repo) -> bool:
    return not (Path(repo.disk_path) / "shallow").exists()


def trigger(api, config, **extra):
    return api.post("/v1/repos/app/sync", {"sync_id": config["id"], **extra}, format="json")


def by_ref(body) -> dict[str, dict]:
    return {item["ref"]: item for item in body["refs"]}


def wait_all_finished(seconds: float = 180) -> None:
    """Every run finished successfully (a condition with a generous deadline, never a sleep)."""
    from sync.models import SyncRun

    deadline = time.monotonic() + seconds
    while SyncRun.objects.exclude(status__in=SyncRun.FINISHED).exists():
        assert time.monotonic() < deadline, "runs still unfinished"
        time.sleep(0.05)
    bad = list(SyncRun.objects.exclude(status__in=("success", "skipped")).values_list(
        "status", "message"))
    assert not bad, bad
