"""Mirror import vs the git CLI on the same smart-HTTP server (a real ``git http-backend``).

    python -m bench.mirror_vs_clone                    # 10,000 commits on 3 branches, 3 tags
    python -m bench.mirror_vs_clone --commits 2000 --rounds 5

Times a first mirror import (full history of ``main`` and ``release/*``, tags) against
``git clone --mirror`` (target ≤ 1.5×) with each pack indexer in the same round (see
bench.import_vs_clone: ``git index-pack`` streamed is the engine's; dulwich's is "before"), then
incremental mirror imports of ``--new`` commits on each of the 3 branches against ``git fetch`` in
a mirror clone (target ≤ 2×). Medians of the rounds, and the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from bench.import_vs_clone import ENV, INDEXERS, git, git_version, indexer, report
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
    ap.add_argument("--rounds", type=int, default=3)
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
    authed = server.url("remote.git").replace("http://", "http://u:p@")
    firsts: dict[str, list[float]] = {name: [] for name in (*INDEXERS, "git")}
    incs: dict[str, list[float]] = {"ours": [], "git": []}
    same = True
    with requests.Session() as session:
        for n in range(args.rounds):
            for name in INDEXERS[n % 3:] + INDEXERS[: n % 3]:  # no indexer always runs first
                req = _request(root / f"local-{n}-{INDEXERS.index(name)}.git", access)
                with indexer(name):
                    seconds, first = timed(lambda req=req: run_mirror_import(req, session))
                firsts[name].append(seconds)
                same &= _refs(req.repo_path) == _refs(bare)
            seconds, _ = timed(lambda n=n: git("clone", "-q", "--mirror", authed,
                                               str(root / f"clone-{n}.git")))
            firsts["git"].append(seconds)
        req = _request(root / "local-0-0.git", access, fresh=False)  # the engine's indexer
        for n in range(args.rounds):
            fast_import(bare, args.new * len(BRANCHES), start=args.commits + n * args.new * 3)
            seconds, second = timed(lambda: run_mirror_import(req, session))
            incs["ours"].append(seconds)
            seconds, _ = timed(lambda: git("fetch", "-q", "origin", cwd=root / "clone-0.git"))
            incs["git"].append(seconds)
            same &= _refs(req.repo_path) == _refs(root / "clone-0.git")
    print(f"history: {args.commits} commits on {len(BRANCHES)} branches, 3 tags; "
          f"incremental: {args.new} commits on each branch; {args.rounds} rounds; "
          f"git {git_version()}")
    print(f"first mirror import (pack {first.bytes_received / 1e6:.1f} MB), "
          "vs git clone --mirror:")
    for name in INDEXERS:
        report(name, firsts[name], firsts["git"], "git clone --mirror", 1.5)
    print(f"incremental mirror import (pack {second.bytes_received / 1e3:.1f} kB), vs git fetch:")
    report(INDEXERS[0], incs["ours"], incs["git"], "git fetch", 2.0)
    print(f"refs identical to the remote's / the git mirror clone's every time: {same}")


def _request(local: Path, access: GitAccess, *, fresh: bool = True) -> MirrorRequest:
    if fresh:
        storage.init_bare(local, default_branch="main")
    return MirrorRequest(repo_path=local, remote=access, branch="main",
                         branches=["main", "release/*"], tags=True, remote_label="bench")


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
