"""Mirror import vs the git CLI on the same smart-HTTP server (a real ``git http-backend``).

    python -m bench.mirror_vs_clone                    # 10,000 commits on 3 branches, 3 tags
    python -m bench.mirror_vs_clone --commits 2000

Times a first mirror import (full history of ``main`` and ``release/*``, tags) against
``git clone --mirror`` (target ≤ 1.5×), then an incremental mirror import of ``--new`` commits on
each of the 3 branches against ``git fetch`` in that mirror clone (target ≤ 2×).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from bench.import_vs_clone import ENV, git
from connections.providers.base import GitAccess
from repos import storage
from sync.engine.mirror_import import run_mirror_import
from sync.engine.mirror_refs import MirrorRequest
from tests.support.git_http_backend import serve_git

BRANCHES = ("main", "release/1", "release/2")


def fast_import(bare: Path, commits: int, start: int = 0) -> None:
    """``commits`` commits round-robin over the 3 branches (each touching one file), by
    fast-import; release branches fork from main, and a later run continues every branch."""
    lines: list[str] = []
    started: set[str] = set()
    for i in range(start, start + commits):
        branch = BRANCHES[i % len(BRANCHES)]
        data = f"line {i}\n" * 20
        message = f"commit {i}\n"
        lines += [f"commit refs/heads/{branch}",
                  f"committer b <b@x> {1_700_000_000 + i} +0000", f"data {len(message)}",
                  message]
        if branch not in started and i >= len(BRANCHES):  # continue (or fork from) a tip
            lines.append(f"from refs/heads/{branch if start else 'main'}^0")
        elif branch not in started and branch != "main":
            lines.append("from refs/heads/main")  # known to this fast-import session
        started.add(branch)
        lines += [f"M 100644 inline f{i % 500}.txt", f"data {len(data)}", data]
    proc = subprocess.run(["git", "fast-import", "--quiet"], input="\n".join(lines).encode(),
                          cwd=bare, env=ENV, capture_output=True)
    if proc.returncode:
        raise SystemExit(f"git fast-import failed: {proc.stderr.decode()[:800]}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--commits", type=int, default=10_000)
    ap.add_argument("--new", type=int, default=10, help="new commits per branch")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-mirror-") as tmp:
        root = Path(tmp)
        with serve_git(root / "served", username="u", password="p") as server:
            bare = server.create_repo("remote.git")
            fast_import(bare, args.commits)
            for n, tag in enumerate(("v1", "v2", "v3")):
                git("tag", tag, f"refs/heads/{BRANCHES[n]}", cwd=bare)
            run(args, root, server, bare)


def run(args, root: Path, server, bare: Path) -> None:
    access = GitAccess(url=server.url("remote.git"), username="u", password="p")
    local = root / "local.git"
    storage.init_bare(local, default_branch="main")
    req = MirrorRequest(repo_path=local, remote=access, branch="main",
                        branches=["main", "release/*"], tags=True, remote_label="bench")
    authed = server.url("remote.git").replace("http://", "http://u:p@")
    with requests.Session() as session:
        ours_first, first = timed(lambda: run_mirror_import(req, session))
        git_first, _ = timed(lambda: git("clone", "-q", "--mirror", authed,
                                         str(root / "clone.git")))
        fast_import(bare, args.new * len(BRANCHES), start=args.commits)
        ours_inc, second = timed(lambda: run_mirror_import(req, session))
        git_inc, _ = timed(lambda: git("fetch", "-q", "origin", cwd=root / "clone.git"))
    same = _refs(local) == _refs(root / "clone.git")
    print(f"history: {args.commits} commits on {len(BRANCHES)} branches, 3 tags; "
          f"incremental: {args.new} commits on each branch")
    print(f"first mirror import  ours {ours_first:7.2f}s  git clone --mirror {git_first:7.2f}s  "
          f"ratio {ours_first / git_first:5.2f} (target <= 1.5)  "
          f"pack {first.bytes_received / 1e6:.1f} MB")
    print(f"incremental import   ours {ours_inc:7.2f}s  git fetch          {git_inc:7.2f}s  "
          f"ratio {ours_inc / git_inc:5.2f} (target <= 2.0)  pack {second.bytes_received / 1e3:.1f} kB")
    print(f"refs identical to the git mirror clone: {same}")


def _refs(path: Path) -> dict[str, str]:
    out = subprocess.run(["git", "for-each-ref", "--format=%(refname) %(objectname)",
                          "refs/heads", "refs/tags"], cwd=path, env=ENV, capture_output=True,
                         check=True).stdout.decode()
    return dict(line.split(" ", 1) for line in out.splitlines())


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


if __name__ == "__main__":
    main()
