"""Our import vs the git CLI on the same smart-HTTP server (a real ``git http-backend``).

    python -m bench.import_vs_clone                      # 3,000 files, ~30 MB, 3 rounds
    python -m bench.import_vs_clone --files 10000 --mb 150 --rounds 5

Times a first import against ``git clone --bare --depth 1`` (target <= 1.2x) with each pack
indexer in the same round (``git index-pack`` fed while the pack arrives: the engine's default;
``git index-pack`` after spooling the whole pack; dulwich's indexer, the fallback and the "before"
figure), then incremental imports (``--changed`` files modified) against ``git fetch``. Prints the
median of the rounds and the median of the per-round ratios, pack bytes and peak RSS (ours: this
process, via getrusage; git's: each child, via GNU time).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from connections.providers.base import GitAccess
from repos import storage
from sync.engine import packs
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


def change_files(work: Path, files: int, changed: int, salt: int = 0) -> None:
    step = max(1, files // changed)
    for i in range(0, step * changed, step):
        path = work / f"dir{i % 97}" / f"sub{i % 13}" / f"file{i}.txt"
        path.write_text(f"changed {i} {salt}\n" + path.read_text()[: 2000])


INDEXERS = ("git index-pack, streamed", "git index-pack, spooled", "dulwich (before)")


@contextmanager
def indexer(name: str) -> Iterator[None]:
    """Store received packs with the named indexer (the engine's choice is the first)."""
    saved_env, saved_stream = os.environ.get(packs.ENV_VAR), packs.STREAM
    packs.STREAM = name != "git index-pack, spooled"
    if name.startswith("dulwich"):
        os.environ[packs.ENV_VAR] = "dulwich"
    else:
        os.environ.pop(packs.ENV_VAR, None)
    try:
        yield
    finally:
        packs.STREAM = saved_stream
        if saved_env is None:
            os.environ.pop(packs.ENV_VAR, None)
        else:
            os.environ[packs.ENV_VAR] = saved_env


def report(label: str, ours: list[float], theirs: list[float], what: str, target: float) -> None:
    """Median times over the rounds and the median of the per-round ratios (same-round pairs)."""
    ratio = statistics.median(o / t for o, t in zip(ours, theirs, strict=True))
    print(f"  {label:26s} {statistics.median(ours):7.2f}s  {what} {statistics.median(theirs):6.2f}s"
          f"  ratio {ratio:5.2f} (target <= {target})  rounds: "
          + " ".join(f"{o / t:.2f}" for o, t in zip(ours, theirs, strict=True)))


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
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        root = Path(tmp)
        with serve_git(root / "served", username="u", password="p") as server:
            bare = root / "served" / "remote.git"
            build_remote(root / "work", bare, args.files, args.mb)
            run(args, root, server, bare)


def run(args, root: Path, server, bare: Path) -> None:
    access = GitAccess(url=server.url("remote.git"), username="u", password="p")
    authed = server.url("remote.git").replace("http://", "http://u:p@")
    rss_before = rss_mb()
    firsts: dict[str, list[float]] = {name: [] for name in (*INDEXERS, "git")}
    incs: dict[str, list[float]] = {"ours": [], "git": []}
    base = None
    with requests.Session() as session:
        for n in range(args.rounds):
            order = INDEXERS[n % 3:] + INDEXERS[: n % 3]  # no indexer always runs first
            for name in order:
                req = _request(root / f"local-{n}-{INDEXERS.index(name)}.git", access)
                with indexer(name):
                    seconds, first = timed(lambda req=req: run_import(req, session))
                firsts[name].append(seconds)
                if (n, name) == (0, INDEXERS[0]):  # runs first: this process's peak so far is
                    base, rss_git = first, rss_mb()  # the engine's, without dulwich indexing
            clone = root / f"clone-{n}.git"
            seconds, git_rss_clone = timed(
                lambda clone=clone: git("clone", "-q", "--bare", "--depth", "1", authed,
                                        str(clone)))
            firsts["git"].append(seconds)
        req = _request(root / "local-0-0.git", access, fresh=False)  # the engine's indexer
        last = base
        for n in range(args.rounds):
            change_files(root / "work", args.files, args.changed, salt=n)
            commit_and_push(root / "work", bare, f"change {n}")
            req = ImportRequest(**{**req.__dict__, "last_remote_sha": last.remote_sha,
                                   "last_local_sha": last.commit_sha})
            seconds, last = timed(lambda req=req: run_import(req, session))
            incs["ours"].append(seconds)
            seconds, git_rss_fetch = timed(
                lambda: git("fetch", "-q", "origin", "main", cwd=root / "clone-0.git"))
            incs["git"].append(seconds)
    print(f"remote: {args.files} files, ~{args.mb} MB; {args.rounds} rounds; "
          f"incremental: {args.changed} files changed; git {git_version()}")
    print(f"first import (pack {first.bytes_received / 1e6:.1f} MB), "
          "vs git clone --bare --depth 1:")
    for name in INDEXERS:
        report(name, firsts[name], firsts["git"], "git clone", 1.2)
    print(f"incremental import (pack {last.bytes_received / 1e3:.1f} kB, "
          f"files_changed={last.files_changed}), vs git fetch:")
    report(INDEXERS[0], incs["ours"], incs["git"], "git fetch", 2.0)
    print(f"peak RSS       ours {rss_git:.0f} MB with git index-pack, {rss_mb():.0f} MB after "
          f"dulwich's (before import {rss_before:.0f} MB)  "
          f"git clone {git_rss_clone:.0f} MB  git fetch {git_rss_fetch:.0f} MB")


def _request(local: Path, access: GitAccess, *, fresh: bool = True) -> ImportRequest:
    if fresh:
        storage.init_bare(local, default_branch="main")
    return ImportRequest(repo_path=local, branch="main", remote=access,
                         tracking_ref=b"refs/sync/bench/remote", remote_label="bench")


def git_version() -> str:
    return subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.split()[-1]


if __name__ == "__main__":
    main()
