"""Run progress costs nothing measurable: the same import with and without a progress sink.

    python -m bench.run_progress                 # 2,000 files, ~20 MB, 6 rounds
    python -m bench.run_progress --files 5000 --mb 60 --rounds 9

Each round imports the remote into fresh local repositories twice without a sink (the engine's
no-op default) and once with the sink the worker installs (a ``ProgressTally``, taken once a
second by a writer thread, as sync/run_progress.py does, observing each phase's duration into the
phase histogram), in an order that rotates per round.
Prints the median ratio "with / without" and the bound it must stay under: 1.05, or the noise
between the two series without a sink measured in the same rounds, if that is larger.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests

from bench.import_vs_clone import build_remote
from connections.providers.base import GitAccess
from observability import series
from repos import storage
from sync.engine import progress
from sync.engine.importer import run_import
from sync.engine.types import ImportRequest
from tests.support.git_http_backend import serve_git


class ObservedTally(progress.ProgressTally):
    """As the worker's recorder: every phase's duration goes into the Prometheus histogram."""

    def phase_ended(self, name: str, seconds: float) -> None:
        series.run_phase_ended(phase=name, provider="git", direction="import", seconds=seconds)


def one_import(root: Path, access: GitAccess, name: str) -> float:
    local = root / f"{name}.git"
    storage.init_bare(local, default_branch="main")
    req = ImportRequest(repo_path=local, branch="main", remote=access,
                        tracking_ref=b"refs/sync/bench/remote", remote_label="bench")
    with requests.Session() as session:
        progress.count_requests(session)  # as the executor does (a no-op without a sink)
        start = time.perf_counter()
        run_import(req, session)
        return time.perf_counter() - start


def with_sink(root: Path, access: GitAccess, name: str) -> tuple[float, dict]:
    tally, stop, taken = ObservedTally(), threading.Event(), []

    def writer() -> None:
        while not stop.wait(1.0):
            taken.append(tally.take())

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        with progress.reporting(tally):
            elapsed = one_import(root, access, name)
    finally:
        tally.end_phase()
        stop.set()
        thread.join()
    return elapsed, tally.take() or (taken[-1] if taken else {})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--mb", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=6)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        root = Path(tmp)
        with serve_git(root / "served", username="u", password="p") as server:
            build_remote(root / "work", root / "served" / "remote.git", args.files, args.mb)
            access = GitAccess(url=server.url("remote.git"), username="u", password="p")
            plain, plain2, sunk, last = [], [], [], {}
            for i in range(args.rounds):
                # The order rotates each round: a shared machine drifts, and whichever import
                # runs first in a round should not always be the same one.
                for step in [("a", "b", "c"), ("b", "c", "a"), ("c", "a", "b")][i % 3]:
                    if step == "b":
                        sunk_time, last = with_sink(root, access, f"b{i}")
                        sunk.append(sunk_time)
                    else:
                        (plain if step == "a" else plain2).append(
                            one_import(root, access, f"{step}{i}"))
    base = statistics.median(plain + plain2)
    ratio = statistics.median(sunk) / base
    noise = abs(statistics.median(plain2) / statistics.median(plain) - 1)
    bound = max(1.05, 1 + 2 * noise)
    print(f"import of {args.files} files, ~{args.mb} MB, {args.rounds} rounds: "
          f"without sink {base:.2f}s, with sink {statistics.median(sunk):.2f}s")
    print(f"ratio {ratio:.3f}  bound {bound:.3f}  (noise between runs without a sink {noise:.3f})  "
          f"{'OK' if ratio <= bound else 'OVER'}")
    print(f"final figures: phases {last.get('phases')}, {last.get('bytes_received', 0) / 1e6:.1f} MB, "
          f"{last.get('objects_received')} objects")


if __name__ == "__main__":
    main()
