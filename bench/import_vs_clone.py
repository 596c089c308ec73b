"""Our import vs the git CLI on the same smart-HTTP server (a real ``git http-backend``).

    python -m bench.import_vs_clone                      # 3,000 files, ~30 MB
    python -m bench.import_vs_clone --files 10000 --mb 150

Times a first import against ``git clone --bare --depth 1`` and an incremental import (``--changed``
files modified) against ``git fetch``, and prints ratios, pack bytes and peak RSS (ours: this
process, via getrusage; git's: each child, via wait4).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from connections.providers.base import GitAccess
from repos import storage
from sync.engine.importer import run_import
from sync.engine.types import ImportRequest
from tests.support.git_http_backend import serve_git

TIME = os.path.exists("/usr/bin/time")
ENV = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b",
       "GIT_COMMITTER_EMAIL": "b@x", "GIT_CONFIG_NOSYSTEM": "1"}


def git(*args: str, cwd: Path | None = None) -> float:
    """Run git; return its peak RSS in MB.

    Measured by GNU time when present: a child forked straight from this process would report
    *our* high-water mark too (Linux carries it across fork+exec), hiding git's own figure.
    """
    with tempfile.NamedTemporaryFile("r") as out:
        timer = ["/usr/bin/time", "-f", "%M", "-o", out.name] if TIME else []
        proc = subprocess.run([*timer, "git", *args], cwd=cwd, env=ENV, capture_output=True)
        if proc.returncode != 0:
            raise SystemExit(f"git {args[0]} failed: {proc.stderr.decode()[:500]}")
        return int(out.read().strip() or 0) / 1024 if TIME else float("nan")


def build_remote(work: Path, bare: Path, files: int, total_mb: int) -> None:
    git("init", "-q", "--bare", "--initial-branch=main", str(bare))
    git("init", "-q", "--initial-branch=main", str(work))
    per_file = max(16, total_mb * 1024 * 1024 // files)
    for i in range(files):
        path = work / f"dir{i % 97}" / f"sub{i % 13}" / f"file{i}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(os.urandom(per_file // 2).hex())  # half-compressible text
    commit_and_push(work, bare, "initial")


def commit_and_push(work: Path, bare: Path, message: str) -> None:
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", message, cwd=work)
    git("push", "-q", str(bare), "HEAD:refs/heads/main", cwd=work)


def change_files(work: Path, files: int, changed: int) -> None:
    step = max(1, files // changed)
    for i in range(0, step * changed, step):
        path = work / f"dir{i % 97}" / f"sub{i % 13}" / f"file{i}.txt"
        path.write_text(f"changed {i}\n" + path.read_text()[: 2000])


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=3000)
    ap.add_argument("--mb", type=int, default=30, help="total size of the files")
    ap.add_argument("--changed", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        root = Path(tmp)
        with serve_git(root / "served", username="u", password="p") as server:
            bare = root / "served" / "remote.git"
            build_remote(root / "work", bare, args.files, args.mb)
            run(args, root, server, bare)


def run(args, root: Path, server, bare: Path) -> None:
    access = GitAccess(url=server.url("remote.git"), username="u", password="p")
    local = root / "local.git"
    storage.init_bare(local, default_branch="main")
    req = ImportRequest(repo_path=local, branch="main", remote=access,
                        tracking_ref=b"refs/sync/bench/remote", remote_label="bench")
    authed = server.url("remote.git").replace("http://", "http://u:p@")
    rss_before = rss_mb()
    with requests.Session() as session:
        ours_first, first = timed(lambda: run_import(req, session))
        git_first, git_rss_clone = timed(
            lambda: git("clone", "-q", "--bare", "--depth", "1", authed, str(root / "clone.git")))
        change_files(root / "work", args.files, args.changed)
        commit_and_push(root / "work", bare, "change")
        req2 = ImportRequest(**{**req.__dict__, "last_remote_sha": first.remote_sha,
                                "last_local_sha": first.commit_sha})
        ours_inc, second = timed(lambda: run_import(req2, session))
        git_inc, git_rss_fetch = timed(
            lambda: git("fetch", "-q", "origin", "main", cwd=root / "clone.git"))
    print(f"remote: {args.files} files, ~{args.mb} MB; incremental: {args.changed} files changed")
    print(f"first import   ours {ours_first:7.2f}s  git clone --depth 1 {git_first:7.2f}s  "
          f"ratio {ours_first / git_first:5.2f}  pack {first.bytes_received / 1e6:.1f} MB")
    print(f"incremental    ours {ours_inc:7.2f}s  git fetch           {git_inc:7.2f}s  "
          f"ratio {ours_inc / git_inc:5.2f}  pack {second.bytes_received / 1e3:.1f} kB "
          f"files_changed={second.files_changed}")
    print(f"peak RSS       ours {rss_mb():.0f} MB (before import {rss_before:.0f} MB)  "
          f"git clone {git_rss_clone:.0f} MB  git fetch {git_rss_fetch:.0f} MB")


if __name__ == "__main__":
    main()
