"""Peak memory of a GitHub and a GitLab export of N MB of changed content (text and binary).

    python -m bench.export_memory [--mb 1024] [--providers github,gitlab] [--code-root DIR]

Method (what is measured, and what is not):
- The content is written once into a temporary bare repository by ``git fast-import`` (C, fast):
  about half the bytes are text files (base64 lines, 32 KB-1.5 MB, so some exceed the 1 MB GitHub
  inline limit), half binary files of random bytes (256 KB-24 MB). Every file is new: the whole
  N MB is the change.
- Each provider fake (tests/fakes, stateful, real bare repositories) runs in its own process
  behind a real HTTP server on 127.0.0.1, so whatever the fake holds is not counted.
- The export runs in a fresh worker process (real client, real engine, no pacing waits: pacing
  is not what is measured). Its peak RSS is the kernel's high-water mark for that process
  (``getrusage(RUSAGE_SELF).ru_maxrss``): interpreter, imports and every transient copy included.
  The bound, 300 MB, is printed next to it as a ratio; the process's RSS right before the export
  (imports done) is printed too, as the floor the bound includes.
- After each export the remote tree id is compared with the local tree id.

``--code-root`` runs the worker against another checkout of the project (e.g. the previous
commit, to measure "before"); the fakes and the data are the same.
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import BOUND_MB, ROOT, add_worker_args, client_for, fake_factory

REMOTE = {"github": "octo/bench", "gitlab": "group/bench"}


# --------------------------------------------------------------------------- content
def _text(size: int) -> bytes:
    raw = base64.b64encode(os.urandom(size * 3 // 4 + 3))[:size]
    return b"\n".join(raw[i:i + 76] for i in range(0, len(raw), 77))[:size]


def build_repo(path: Path, total: int, seed: int = 7) -> tuple[int, int]:
    """A bare repository whose main branch holds ``total`` bytes of new files; (files, bytes)."""
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    rng, made, files = random.Random(seed), 0, 0  # noqa: S311 - benchmark data, not secrets
    # No delta search (random data has none) and light compression: 1 GB builds in seconds.
    proc = subprocess.Popen(["git", "-c", "core.compression=0", "fast-import", "--quiet",
                             "--big-file-threshold=64k"], cwd=path, stdin=subprocess.PIPE)
    out = proc.stdin
    paths = []
    while made < total:
        text = files % 2 == 0
        size = min(total - made, rng.randint(32 << 10, 1536 << 10) if text
                   else rng.randint(256 << 10, 24 << 20))
        data = _text(size) if text else b"\x00" + os.urandom(max(size - 1, 0))
        files += 1
        out.write(b"blob\nmark :%d\ndata %d\n" % (files, len(data)) + data + b"\n")
        paths.append(f"{'docs' if text else 'assets'}/d{files % 16}/f{files}."
                     f"{'txt' if text else 'bin'}")
        made += len(data)
    out.write(b"commit refs/heads/main\ncommitter Bench <b@example.com> 1700000000 +0000\n"
              b"data 6\nbench\n")
    for mark, name in enumerate(paths, 1):
        out.write(b"M 100644 :%d %s\n" % (mark, name.encode()))
    out.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    return files, made


def tree_of(path: Path, ref: str = "refs/heads/main") -> str:
    return subprocess.run(["git", "rev-parse", f"{ref}^{{tree}}"], cwd=path, check=True,
                          capture_output=True, text=True).stdout.strip()


# --------------------------------------------------------------------------- fake servers
def _serve(provider: str, root: str, conn, stop) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("SECRET_KEY", "bench")
    from tests.fakes.http_server import serve_fake

    with serve_fake(fake_factory(provider, root, REMOTE[provider])) as (_fake, host):
        conn.send(host)
        stop.wait()


# --------------------------------------------------------------------------- worker
def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def worker(args: argparse.Namespace) -> None:
    sys.path.insert(0, args.code_root)
    os.environ.setdefault("SECRET_KEY", "bench")
    from sync.engine import export_github, export_gitlab
    from sync.engine.api_common import Pacer
    from sync.engine.types import ExportRequest

    client = client_for(args.provider, args.host)
    engine = export_github if args.provider == "github" else export_gitlab
    req = ExportRequest(repo_path=args.local, branch="main", remote_name=REMOTE[args.provider],
                        remote_label=args.provider)
    floor = _rss_mb()
    started = time.perf_counter()
    result = engine.run_export(req, client, pacer=Pacer(per_minute=10**9))
    print(json.dumps({"status": result.status, "seconds": time.perf_counter() - started,
                      "floor_mb": floor, "requests": result.requests,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run_one(provider: str, local: Path, tmp: Path, code_root: str) -> dict:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    stop = ctx.Event()
    root = tmp / f"fake-{provider}"
    server = ctx.Process(target=_serve, args=(provider, str(root), child, stop))
    server.start()
    try:
        host = parent.recv()
        # From this checkout (bench.common), measuring the code of ``code_root`` (see worker).
        out = subprocess.run(
            [sys.executable, "-m", "bench.export_memory", "--worker", "--provider", provider,
             "--host", host, "--local", str(local), "--code-root", code_root],
            check=True, capture_output=True, text=True, cwd=ROOT)
        report = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        stop.set()
        server.join(timeout=60)
    kind = "github" if provider == "github" else "gitlab"
    report["same_tree"] = tree_of(root / kind / f"{REMOTE[provider]}.git") == tree_of(local)
    return report


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=1024)
    ap.add_argument("--providers", default="github,gitlab")
    ap.add_argument("--code-root", default=str(ROOT))
    add_worker_args(ap)
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        started = time.perf_counter()
        files, size = build_repo(tmp / "local.git", args.mb << 20)
        print(f"content: {files} files, {size / 2**20:.0f} MB (text and binary), built in "
              f"{time.perf_counter() - started:.1f}s; code: {args.code_root}")
        for provider in args.providers.split(","):
            r = run_one(provider, tmp / "local.git", tmp, args.code_root)
            print(f"{provider:7} export {r['status']:8} {r['seconds']:7.1f}s  peak RSS "
                  f"{r['peak_mb']:6.0f} MB / bound {BOUND_MB} MB = {r['peak_mb'] / BOUND_MB:.2f}  "
                  f"(before export {r['floor_mb']:.0f} MB)  remote tree == local tree: "
                  f"{r['same_tree']}")


if __name__ == "__main__":
    main()
