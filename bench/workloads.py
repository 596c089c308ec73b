"""Reproducible, offline remote trees for the benchmarks, cached under ``var/bench/workloads``.

    python -m bench.workloads --size 150      # build (or reuse) the ~150 MB tree and print it
    python -m bench.workloads --size 1024     # the ~1 GB tree

A tree is 12,000 files: real source files found on this machine (the running Python's stdlib,
/usr/include, /usr/share/doc, /usr/share/perl5; regular files under 1 MiB, in sorted path order)
up to ~100 MB, then deterministic generated files (seeded text, every fourth one binary) that
bring the total to the size asked for. Both trees share the real part; the 1 GB one has larger
generated files. Everything goes through ``git fast-import`` with fixed author and dates, so the
same inputs give the same commit ids; the bare repository is repacked once, as a host's would be.

The remote holds ``base`` (the tree) on ``refs/heads/main`` and a chain of six commits after it,
each modifying 20 other files spread over real and generated ones, kept under
``refs/bench/change<N>``, which neither ``git clone`` nor our import fetches.
``Workload.reset()`` / ``Workload.advance(n)`` move ``main`` between them, so each benchmark round
imports the same first tree and the same 20-file changes.
The cache key is a digest of the chosen source files (paths and sizes) and of this script's
version: a machine whose sources differ builds its own tree, and a rerun reuses the cached one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "var" / "bench" / "workloads"
VERSION = 2  # bump when the recipe changes: cached trees of another version are rebuilt
FILES = 12_000
REAL_BYTES = 100 * 1024 * 1024
MAX_REAL_FILE = 1024 * 1024
CHANGED = 20
STEPS = 6  # incremental changes, one after the other
SEED = 9
SOURCES = [Path(sysconfig.get_paths()["stdlib"]), Path("/usr/include"), Path("/usr/share/doc"),
           Path("/usr/share/perl5")]
SKIP_DIRS = {"__pycache__", "site-packages", "dist-packages", ".git"}
IDENT = b"Bench <bench@example.com> 1700000000 +0000"
GIT_ENV = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null"}


@dataclass
class Workload:
    """A built remote: ``root`` holds ``remote.git`` (serve ``root`` with ``serve_git``)."""

    root: Path
    size_mb: int
    files: int
    tree_bytes: int
    base: str  # commit ids
    changes: list[str]

    @property
    def bare(self) -> Path:
        return self.root / "remote.git"

    def _set_main(self, sha: str) -> None:
        subprocess.run(["git", "update-ref", "refs/heads/main", sha], cwd=self.bare, check=True,
                       env=GIT_ENV)

    def reset(self) -> None:
        """``main`` at the base tree (what a first import fetches)."""
        self._set_main(self.base)

    def advance(self, step: int) -> str:
        """``main`` at the ``step``-th 20-file change (what an incremental import fetches)."""
        self._set_main(self.changes[step])
        return self.changes[step]


def real_files() -> Iterator[tuple[Path, str, int]]:
    """(source file, path in the tree, size) of the real part, in a fixed order."""
    taken = 0
    for number, source in enumerate(SOURCES):
        if not source.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(source):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            for name in sorted(filenames):
                path = Path(dirpath) / name
                if name.endswith(".pyc") or path.is_symlink() or not path.is_file():
                    continue
                size = path.stat().st_size
                if size > MAX_REAL_FILE or not os.access(path, os.R_OK):
                    continue
                yield path, f"src{number}-{source.name}/{path.relative_to(source)}", size
                taken += size
                if taken >= REAL_BYTES:
                    return


def generated_sizes(count: int, total: int, rng: random.Random) -> list[int]:
    """``count`` sizes summing to ``total``, spread from 1/4 to 7/4 of the mean."""
    weights = [rng.uniform(0.25, 1.75) for _ in range(count)]
    scale = total / sum(weights)
    sizes = [max(1, int(w * scale)) for w in weights]
    sizes[-1] += total - sum(sizes)
    return sizes


WORDS = [f"{a}{b}" for a in ("get", "set", "make", "load", "save", "read", "emit", "scan")
         for b in ("_node", "_tree", "Value", "_index", "Buffer", "_path", "Count", "_state",
                   "(", ")", " = ", ";\n", " + ", ", ", "\n    ", "{\n", "}\n", " if ")]


def generated_content(number: int, size: int, rng: random.Random) -> bytes:
    """Seeded text (a few distinct tokens: compresses like code), or random bytes."""
    if number % 4 == 3:
        return rng.randbytes(size)
    out, length = [], 0
    header = f"/* generated file {number} */\n"
    out.append(header)
    length += len(header)
    while length < size:
        chunk = "".join(rng.choices(WORDS, k=512))
        out.append(chunk)
        length += len(chunk)
    return "".join(out).encode()[:size]


def changed_content(old: bytes, number: int) -> bytes:
    """The incremental change: a line in front and a few bytes replaced in the middle."""
    middle = len(old) // 2
    return f"// change {number}\n".encode() + old[:middle] + b"CHANGED" + old[middle + 7:]


class FastImport:
    """Writes blobs and commits through one ``git fast-import`` process."""

    def __init__(self, bare: Path) -> None:
        self.proc = subprocess.Popen(["git", "fast-import", "--quiet", "--done"], cwd=bare,
                                     stdin=subprocess.PIPE, env=GIT_ENV)
        self.out = self.proc.stdin
        self.marks = 0

    def blob(self, data: bytes) -> int:
        self.marks += 1
        self.out.write(b"blob\nmark :%d\ndata %d\n" % (self.marks, len(data)))
        self.out.write(data)
        self.out.write(b"\n")
        return self.marks

    def commit(self, ref: str, message: str, files: list[tuple[str, int]], parent: str = ""
               ) -> None:
        msg = message.encode()
        self.out.write(f"commit {ref}\n".encode())
        self.out.write(b"author " + IDENT + b"\ncommitter " + IDENT + b"\n")
        self.out.write(b"data %d\n%s\n" % (len(msg), msg))
        if parent:
            self.out.write(f"from {parent}\n".encode())
        for path, mark in files:
            self.out.write(f"M 100644 :{mark} {path}\n".encode())
        self.out.write(b"\n")

    def done(self) -> None:
        self.out.write(b"done\n")
        self.out.close()
        if self.proc.wait() != 0:
            raise SystemExit("git fast-import failed")


def build(root: Path, size_mb: int, real: list[tuple[Path, str, int]]) -> Workload:
    bare = root / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "--initial-branch=main", str(bare)],
                   check=True, env=GIT_ENV)
    rng = random.Random(SEED * 1_000_003 + size_mb)
    real_bytes = sum(size for _, _, size in real)
    sizes = generated_sizes(FILES - len(real), max(0, size_mb * 1024 * 1024 - real_bytes), rng)
    step = FILES // CHANGED
    picked = {i * step + (k + 1) * step // (STEPS + 1): k for i in range(CHANGED)
              for k in range(STEPS)}  # each change: 20 files spread over real and generated
    fi = FastImport(bare)
    tree: list[tuple[str, int]] = []
    old: list[list[tuple[str, bytes]]] = [[] for _ in range(STEPS)]
    for source, path, _ in real:
        data = source.read_bytes()
        if len(tree) in picked:
            old[picked[len(tree)]].append((path, data))
        tree.append((path, fi.blob(data)))
    for number, size in enumerate(sizes):
        path = f"gen/part{number % 40:02d}/file{number:05d}.{'bin' if number % 4 == 3 else 'c'}"
        data = generated_content(number, size, rng)
        if len(tree) in picked:
            old[picked[len(tree)]].append((path, data))
        tree.append((path, fi.blob(data)))
    fi.commit("refs/heads/main", "base tree\n", tree)
    parent = "refs/heads/main"
    for k, files in enumerate(old):
        changes = [(path, fi.blob(changed_content(data, n))) for n, (path, data) in
                   enumerate(files)]
        fi.commit(f"refs/bench/change{k}", f"{len(changes)} files changed\n", changes,
                  parent=parent)
        parent = f"refs/bench/change{k}"
    fi.done()
    subprocess.run(["git", "repack", "-adq"], cwd=bare, check=True, env=GIT_ENV)
    return Workload(root, size_mb, len(tree), real_bytes + sum(sizes), _rev(bare, "main"),
                    [_rev(bare, f"refs/bench/change{k}") for k in range(STEPS)])


def _rev(bare: Path, ref: str) -> str:
    return subprocess.run(["git", "rev-parse", ref], cwd=bare, check=True, capture_output=True,
                          text=True, env=GIT_ENV).stdout.strip()


def workload(size_mb: int, cache: Path = CACHE) -> Workload:
    """The tree of ``size_mb`` MB, built on first use and reused from ``cache`` afterwards."""
    real = list(real_files())
    digest = hashlib.sha256(json.dumps([VERSION, FILES, size_mb, [(p, s) for _, p, s in real]])
                            .encode()).hexdigest()[:12]
    root = cache / f"tree-{size_mb}mb-{digest}"
    manifest = root / "workload.json"
    if manifest.exists():
        wl = Workload(root=root, **json.loads(manifest.read_text()))
        wl.reset()
        return wl
    for stale in cache.glob(f"tree-{size_mb}mb-*"):  # other versions or sources: rebuilt anyway
        shutil.rmtree(stale, ignore_errors=True)
    partial = root.with_name(root.name + ".building")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    started = time.monotonic()
    print(f"building the {size_mb} MB workload in {root} (once) ...", file=sys.stderr, flush=True)
    wl = build(partial, size_mb, real)
    partial.rename(root)
    wl.root = root
    fields = {k: v for k, v in wl.__dict__.items() if k != "root"}
    manifest.write_text(json.dumps(fields, indent=1))
    print(f"built in {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)
    return wl


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, choices=(150, 1024), default=150, help="MB")
    args = ap.parse_args()
    wl = workload(args.size)
    pack = sum(p.stat().st_size for p in (wl.bare / "objects" / "pack").glob("*.pack"))
    print(f"{wl.bare}: {wl.files} files, {wl.tree_bytes / 2**20:.0f} MiB of content, "
          f"packed {pack / 2**20:.0f} MiB; base {wl.base[:12]}, {len(wl.changes)} changes")


if __name__ == "__main__":
    main()
