"""A first export of 100,000 files / 1 GB to the GitHub and GitLab fakes, API path and push path.

    python -m bench.export_scale [--files 100000 --mb 1024] [--paths push,api] [--latency 0.05]
                                 [--bandwidth-mb 12.5] [--providers github,gitlab] [--rounds 3]
                                 [--keep DIR] [--no-baseline]

Each fake (tests/fakes, stateful, real bare repositories) runs in its own process behind a real
HTTP server on 127.0.0.1 that adds ``--latency`` to every request and reads request bodies at
``--bandwidth-mb`` MB/s (``tests.fakes.http_server``); its git smart HTTP is answered by the git
binary, as a hosted provider's is. The export runs in a fresh worker process (real client, real
engine; no pacing waits: GitHub's secondary limit is computed, see below).

Printed per provider and path, each against its bound:
- requests (counted by the server) vs the lower bound ``ceil(changed files / files per request)
  + fixed calls``: API path GitHub: text files 150 per create-tree call (2 MB each), one call per
  binary blob, fixed = get-branch, get-repo, placeholder, create-commit, create-ref; GitLab: 500
  actions (20 MB) per commit, fixed = get-branch, get-repo; push path: 0 per-file calls, fixed =
  receive-pack advertisement + receive-pack POST. Target: within 10 %.
- peak worker RSS (``ru_maxrss``) vs 300 MB.
- wall time vs ``1.25 × bound × latency + bytes uploaded / bandwidth``.
- git itself (house rule: a bound measured in the same run): plain ``git push`` of the same
  commit to another empty repository of the same fake process, same latency and link
  (``bench.export_scale_remote``; before ours in even rounds, after in odd ones): its wall,
  ours/git, and git's wall against both readings of the wall bound, literal ``1.25 × bound ×
  latency + upload`` and whole ``1.25 × (bound × latency + upload)``.
- for the GitHub API path, the content-creating requests and the minutes GitHub's secondary limit
  (80 a minute, 500 an hour) would add.
The content: ``--files`` files totalling ``--mb`` MB from ``git fast-import``: 95 % source-like
text (base64 lines), 5 % binary; the remote tree id must equal the local one after each export.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import BOUND_MB, ROOT, add_worker_args, client_for
from bench.export_scale_remote import GIT_REMOTE, REMOTE, fake_remote, git_push, remote_tree, tree

GH_TREE_FILES, GL_COMMIT_FILES, GL_COMMIT_BYTES = 150, 500, 20 * 1024 * 1024
FIXED = {("github", "api"): 5, ("gitlab", "api"): 2, ("github", "push"): 2,
         ("gitlab", "push"): 2}


def build_repo(path: Path, files: int, total: int, seed: int = 11) -> dict:
    """``files`` new files of ``total`` bytes in all (5 % binary); what the bound needs."""
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    rng = random.Random(seed)  # noqa: S311 - benchmark data
    proc = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=path, stdin=subprocess.PIPE)
    out, avg = proc.stdin, total // files
    stats = {"files": files, "bytes": 0, "binary": 0}
    pool = os.urandom(1 << 22)
    for n in range(1, files + 1):
        binary = n % 20 == 0
        size = max(16, int(avg * rng.uniform(0.5, 1.5)))
        start = rng.randrange(0, len(pool) - size)
        if binary:
            data = b"\x00" + os.urandom(size - 1)
            stats["binary"] += 1
        else:
            raw = pool[start:start + size * 3 // 4 + 3].hex().encode()[:size]
            data = b"\n".join(raw[i:i + 79] for i in range(0, len(raw), 80))
        stats["bytes"] += len(data)
        out.write(b"blob\nmark :%d\ndata %d\n" % (n, len(data)) + data + b"\n")
    out.write(b"commit refs/heads/main\ncommitter Bench <b@example.com> 1700000000 +0000\n"
              b"data 6\nscale\n")
    for n in range(1, files + 1):
        kind = "bin" if n % 20 == 0 else "py"
        out.write(b"M 100644 :%d src/p%d/m%d/f%d.%s\n" % (n, n % 50, n % 997, n, kind.encode()))
    out.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    return stats


def lower_bound(provider: str, path: str, content: dict) -> int:
    fixed = FIXED[(provider, path)]
    if path == "push":
        return fixed
    text = content["files"] - content["binary"]
    if provider == "github":
        return math.ceil(text / GH_TREE_FILES) + content["binary"] + fixed
    by_bytes = math.ceil(content["bytes"] * 4 / 3 / GL_COMMIT_BYTES)
    return max(math.ceil(content["files"] / GL_COMMIT_FILES), by_bytes) + fixed


# --------------------------------------------------------------------------- worker
def worker(args: argparse.Namespace) -> None:
    os.environ.setdefault("SECRET_KEY", "bench")
    import requests

    from sync.engine import export_github, export_gitlab, export_push
    from sync.engine.api_common import Pacer
    from sync.engine.types import ExportRequest

    client = client_for(args.provider, args.host)
    req = ExportRequest(repo_path=args.local, branch="main", remote_name=REMOTE[args.provider],
                        remote_label=args.provider,
                        remote=client.git_access(REMOTE[args.provider]))
    started, start = time.perf_counter(), time.monotonic()  # monotonic: the fake's clock too
    if args.path == "push":
        with requests.Session() as session:
            result = export_push.run_export(req, session,
                                            git=None if args.no_git else export_push.GIT)
    else:
        engine = export_github if args.provider == "github" else export_gitlab
        result = engine.run_export(req, client, pacer=Pacer(per_minute=10**9))
    print(json.dumps({"status": result.status, "seconds": time.perf_counter() - started,
                      "start": start, "end": time.monotonic(),
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run_one(provider: str, path: str, local: Path, tmp: Path, args, baseline: str
            ) -> tuple[dict, dict | None]:
    """Our export, and (``baseline``: "before" or "after" ours, else "") ``git push`` of the same
    commit to another empty repository of the same fake process."""
    root = tmp / f"fake-{provider}-{path}-{time.monotonic_ns()}"
    git = None
    with fake_remote(provider, root, args.latency, args.bandwidth_mb * 1e6) as (host, take):
        if baseline == "before":
            git = {**git_push(provider, host, local), **take()}
        out = subprocess.run(
            [sys.executable, "-m", "bench.export_scale", "--worker", "--provider", provider,
             "--host", host, "--local", str(local), "--path", path]
            + (["--no-git"] if args.no_git else []),
            check=True, capture_output=True, text=True, cwd=ROOT)
        report = {**json.loads(out.stdout.strip().splitlines()[-1]), **take()}
        if baseline == "after":
            git = {**git_push(provider, host, local), **take()}
    local_tree = tree(local)
    report["same_tree"] = remote_tree(root, provider, REMOTE[provider]) == local_tree
    if git:
        git["same_tree"] = remote_tree(root, provider, GIT_REMOTE[provider]) == local_tree
    shutil.rmtree(root, ignore_errors=True)  # two 1 GB repositories a run: keep the disk
    return report, git


def _timeline(r: dict) -> str:
    return (f"  timeline: {r['first_read'] - r['start']:5.1f}s before the first body byte, "
            f"{r['last_read'] - r['first_read']:5.1f}s receiving, {r['end'] - r['last_read']:5.1f}s "
            f"after the last (fake's own work {r['busy']:.1f}s)")


def _bounds(r: dict, bound: int, args) -> tuple[float, float]:
    """Both readings of the wall bound: 1.25 on the round trips only (literal), or on all."""
    upload = r["bytes_in"] / (args.bandwidth_mb * 1e6)
    return 1.25 * bound * args.latency + upload, 1.25 * (bound * args.latency + upload)


def _print(provider: str, path: str, r: dict, bound: int, args) -> dict:
    wall_bound = _bounds(r, bound, args)[0]
    print(f"{provider:6} {path:4} {r['status']:7} tree equal: {r['same_tree']}\n"
          f"  requests {r['requests']:6} / bound {bound:6} = {r['requests'] / bound:5.3f}\n"
          f"  peak RSS {r['peak_mb']:5.0f} MB / {BOUND_MB} MB = {r['peak_mb'] / BOUND_MB:4.2f}\n"
          f"  wall {r['seconds']:7.1f}s / bound {wall_bound:7.1f}s = "
          f"{r['seconds'] / wall_bound:4.2f}  (bound: 1.25 x {bound} x {args.latency}s + "
          f"{r['bytes_in'] / 1e6:.1f} MB uploaded at {args.bandwidth_mb} MB/s)\n" + _timeline(r))
    if provider == "github" and path == "api":
        content = bound - 2  # every call but get-branch and get-repo creates content
        print(f"  GitHub secondary limit: {content} content-creating requests = at least "
              f"{content / 80:.1f} min at 80/min, {content / 500:.1f} h at 500/h")
    return {"requests": r["requests"] / bound, "rss": r["peak_mb"] / BOUND_MB,
            "wall": r["seconds"] / wall_bound}


def _print_git(r: dict, git: dict, bound: int, args, order: str) -> dict:
    """git itself on the same fake: its wall against ours and against both bound readings."""
    literal, whole = _bounds(git, bound, args)
    print(f"  git push (same fake, its own empty repo, run {order} ours) {git['status']:7} "
          f"tree equal: {git['same_tree']}\n"
          f"    requests {git['requests']} (bound {bound}), {git['bytes_in'] / 1e6:.1f} MB "
          f"uploaded (ours {r['bytes_in'] / 1e6:.1f} MB)\n"
          f"    wall: ours {r['seconds']:.1f}s, git push {git['seconds']:.1f}s, "
          f"ours/git = {r['seconds'] / git['seconds']:.2f}\n"
          f"    git push / bound: literal 1.25 x {bound} x {args.latency}s + upload = "
          f"{literal:.1f}s: {git['seconds'] / literal:.2f}; whole 1.25 x ({bound} x "
          f"{args.latency}s + upload) = {whole:.1f}s: {git['seconds'] / whole:.2f} "
          f"(ours / whole bound: {r['seconds'] / _bounds(r, bound, args)[1]:.2f})\n"
          "  " + _timeline(git))
    return {"ours_s": r["seconds"], "git_s": git["seconds"], "ours_git": r["seconds"] / git["seconds"],
            "git_literal": git["seconds"] / literal, "git_whole": git["seconds"] / whole,
            "ours_whole": r["seconds"] / _bounds(r, bound, args)[1]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--mb", type=int, default=1024)
    ap.add_argument("--paths", default="push")
    ap.add_argument("--providers", default="github,gitlab")
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--bandwidth-mb", type=float, default=12.5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-git", action="store_true", help="push path: dulwich writes the pack")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip the `git push` of the same commit (run with the first path)")
    ap.add_argument("--keep", help="build the content here once and reuse it on later runs")
    add_worker_args(ap)
    ap.add_argument("--path")
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        started = time.perf_counter()
        local = Path(args.keep) / f"local-{args.files}-{args.mb}.git" if args.keep else \
            tmp / "local.git"
        if local.with_suffix(".json").exists():
            content = json.loads(local.with_suffix(".json").read_text())
        else:
            content = build_repo(local, args.files, args.mb << 20)
            if args.keep:
                local.with_suffix(".json").write_text(json.dumps(content))
        print(f"content: {content['files']} files ({content['binary']} binary), "
              f"{content['bytes'] / 2**20:.0f} MB, built in {time.perf_counter() - started:.1f}s;"
              f" latency {args.latency * 1000:.0f} ms, bandwidth {args.bandwidth_mb} MB/s")
        ratios: dict[tuple[str, str], list[dict]] = {}
        versus_git: dict[tuple[str, str], list[dict]] = {}
        paths = args.paths.split(",")
        for n in range(args.rounds):  # rounds interleave providers and paths (a loaded machine)
            print(f"-- round {n + 1}/{args.rounds}")
            order = "" if args.no_baseline else ("after", "before")[n % 2]
            for provider in args.providers.split(","):
                for path in paths:
                    r, git = run_one(provider, path, local, tmp, args,
                                     order if path == paths[0] else "")
                    bound = lower_bound(provider, path, content)
                    ratios.setdefault((provider, path), []).append(
                        _print(provider, path, r, bound, args))
                    if git:
                        versus_git.setdefault((provider, path), []).append(
                            _print_git(r, git, bound, args, order))
        print(f"-- medians of {args.rounds} rounds (ratio to the bound; target <= 1.10 for "
              "requests, <= 1 for RSS and wall)")
        for (provider, path), runs in ratios.items():
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(f"{provider:6} {path:4} requests {med['requests']:.3f}  RSS {med['rss']:.2f}  "
                  f"wall {med['wall']:.2f}")
        if versus_git:
            print("-- git itself: plain `git push` of the same commit, same fake and link "
                  "(medians; wall bounds: literal 1.25 x requests x latency + upload, "
                  "whole 1.25 x (requests x latency + upload))")
        for (provider, path), runs in versus_git.items():
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(f"{provider:6} {path:4} ours {med['ours_s']:.1f}s  git push {med['git_s']:.1f}s  "
                  f"ours/git {med['ours_git']:.2f}  git/bound literal {med['git_literal']:.2f} "
                  f"whole {med['git_whole']:.2f}  (ours/bound whole {med['ours_whole']:.2f})")


if __name__ == "__main__":
    main()
