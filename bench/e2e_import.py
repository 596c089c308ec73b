"""What users wait for: an import through the real API, from trigger to finished run, vs git.

    python -m bench.e2e_import                         # 150 MB tree, both brokers, 3 rounds
    python -m bench.e2e_import --size 1024 --rounds 2
    python -m bench.e2e_import --brokers embedded --code-root /tmp/main   # another checkout

The service runs as ``make run`` starts it (scripts/run.sh: gunicorn + a separate Celery worker,
``--pool threads``, no eager mode), once on the embedded default (SQLite + kombu's filesystem
broker in a fresh data directory) and once on PostgreSQL + Redis (a database and queue of the
benchmark's own). The remote is a workload of bench/workloads.py served by a real
``git http-backend`` on 127.0.0.1. Each round creates a repository, a git credential and a generic
config through the API, then times ``POST /v1/repos/:slug/sync`` with ``wait: true`` (polling the
run if the wait ran out) for the first import against ``git clone --bare --depth 1`` of the same
remote, and, as the remote's ``main`` moves by each of six 20-file changes, the incremental import
against ``git fetch`` in that clone. Who goes first alternates. The run's own timestamps (read
from the database: the API answers whole seconds) split the incremental time into request to
queued, queued to started (the broker), started to completed (the work), completed to answered
(the wait). Idle CPU: the worker's CPU time over an idle window, as a percentage of one core.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from bench.service import ROOT, Service, cpu_seconds, service
from bench.workloads import GIT_ENV, Workload, workload
from tests.support.git_http_backend import serve_git

TARGETS = {"redis": (1.2, 1.5), "embedded": (1.2, 2.0)}  # first import, incremental (issue 9)


def api(svc: Service, method: str, path: str, **body) -> dict:
    resp = requests.request(method, f"{svc.base}/v1{path}", json=body or None, timeout=3600,
                            headers={"x-api-key": svc.key})
    if resp.status_code >= 300:
        raise SystemExit(f"{method} {path}: {resp.status_code} {resp.text[:500]}")
    return resp.json() if resp.content else {}


def trigger(svc: Service, slug: str, sync_id: str) -> tuple[float, float, dict]:
    """Trigger with ``wait: true`` and wait for the run's end; (seconds, epoch sent, body)."""
    headers = {"x-api-key": svc.key}
    sent, start = time.time(), time.perf_counter()
    resp = requests.post(f"{svc.base}/v1/repos/{slug}/sync", json={"sync_id": sync_id},
                         headers=headers, timeout=3600)
    body = resp.json()
    if resp.status_code == 202:  # the server's wait ran out: poll the run, as a client would
        run_url = f"{svc.base}/v1/repos/{slug}/sync/runs/{body['run_id']}"
        while body.get("status") in ("queued", "running"):
            time.sleep(0.05)
            body = requests.get(run_url, headers=headers, timeout=60).json()
        body["run_id"] = body["id"]
        ok = body["status"] == "success"
    else:
        ok = resp.status_code == 200
    took = time.perf_counter() - start
    if not ok:
        raise SystemExit(f"trigger of {slug}: {resp.status_code} {str(body)[:500]}")
    return took, sent, body


def git(*args: str, cwd: Path | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True)
    return time.perf_counter() - start


def setup_repo(svc: Service, slug: str, remote: str) -> str:
    repo = api(svc, "POST", "/repos", slug=slug)
    api(svc, "POST", "/repos/git-credentials", repo_id=repo["id"], username="u", password="p")
    return api(svc, "POST", f"/repos/{slug}/sync/config", remote=remote, branch="main")["id"]


def one_round(svc: Service, wl: Workload, url: str, tmp: Path, n: int) -> dict:
    """A first import, then every 20-file change in turn, each against git (order alternates)."""
    wl.reset()
    slug = f"bench{n}"
    sync_id = setup_repo(svc, slug, url)
    clone = tmp / f"clone{n}.git"
    authed = url.replace("http://", "http://u:p@")
    out: dict = {"inc": [], "fetch": [], "split": []}
    if n % 2:
        out["clone"] = git("clone", "-q", "--bare", "--depth", "1", authed, str(clone))
    out["first"], _, body = trigger(svc, slug, sync_id)
    assert body["remote_sha"] == wl.base, body
    if not n % 2:
        out["clone"] = git("clone", "-q", "--bare", "--depth", "1", authed, str(clone))
    for step in range(len(wl.changes)):
        sha = wl.advance(step)
        if (n + step) % 2:
            out["fetch"].append(git("fetch", "-q", "origin", "main", cwd=clone))
        took, sent, body = trigger(svc, slug, sync_id)
        assert body["remote_sha"] == sha and body["files_changed"] == 20, body
        if not (n + step) % 2:
            out["fetch"].append(git("fetch", "-q", "origin", "main", cwd=clone))
        out["inc"].append(took)
        created, started, completed = svc.run_times(body["run_id"])
        out["split"].append((created - sent, started - created, completed - started,
                             sent + took - completed))
    api(svc, "DELETE", f"/repos/{slug}")
    shutil.rmtree(clone)
    return out


def idle_cpu(svc: Service, seconds: float) -> float:
    """The worker's CPU use while nothing is queued, in % of one core."""
    pid = svc.worker_pid()
    before, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - before) / (time.monotonic() - start)


def bench_broker(broker: str, wl: Workload, served: Path, args, tmp: Path) -> dict:
    with serve_git(served, username="u", password="p") as server, \
            service(tmp / broker, broker, code_root=Path(args.code_root)) as svc:
        warm = setup_repo(svc, "warmup", server.url("warm.git"))
        trigger(svc, "warmup", warm)  # imports, connections and caches of a fresh worker
        idle = idle_cpu(svc, args.idle_seconds)
        rounds = [one_round(svc, wl, server.url("remote.git"), tmp, n) for n in range(args.rounds)]
    med = {k: statistics.median(r[k] for r in rounds) for k in ("first", "clone")}
    for key in ("inc", "fetch"):
        med[key] = statistics.median(x for r in rounds for x in r[key])
    splits = [s for r in rounds for s in r["split"]]
    for i, key in enumerate(("to_queued", "to_started", "work", "to_answer")):
        med[key] = statistics.median(s[i] for s in splits)
    med["idle_cpu"] = idle
    med["rounds"] = rounds
    return med


def make_served(tmp: Path, wl: Workload) -> Path:
    served = tmp / "served"
    served.mkdir()
    (served / "remote.git").symlink_to(wl.bare)
    warm = tmp / "warm"
    subprocess.run(["git", "init", "-q", "--initial-branch=main", str(warm)], check=True)
    (warm / "README").write_text("warm-up\n")
    env = {**GIT_ENV, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@x"}
    for cmd in (["add", "-A"], ["commit", "-qm", "warm"],
                ["clone", "-q", "--bare", str(warm), str(served / "warm.git")]):
        subprocess.run(["git", *cmd], cwd=warm, env=env, check=True)
    return served


def report(results: dict, args, wl: Workload) -> None:
    print(f"\nremote: {wl.files} files, {wl.tree_bytes / 2**20:.0f} MiB; {args.rounds} rounds of "
          f"a first import and {len(wl.changes)} incremental ones; medians; code: {args.code_root}")
    print("| broker | first import (ours / git clone --bare --depth 1) | ratio | target "
          "| 20-file incremental (ours / git fetch) | ratio | target | idle worker CPU |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for broker, m in results.items():
        first_t, inc_t = TARGETS[broker]
        print(f"| {broker} | {m['first']:.2f} s / {m['clone']:.2f} s | "
              f"{m['first'] / m['clone']:.2f} | ≤ {first_t} | {m['inc']:.3f} s / {m['fetch']:.3f} s "
              f"| {m['inc'] / m['fetch']:.2f} | ≤ {inc_t} | {m['idle_cpu']:.1f} % |")
    print("\nincremental, where the time goes (medians, seconds):")
    print("| broker | request → queued | queued → started (broker) | started → completed (work) "
          "| completed → answered (finish + wait) |")
    print("| --- | --- | --- | --- | --- |")
    for broker, m in results.items():
        print(f"| {broker} | {m['to_queued']:.3f} | {m['to_started']:.3f} | {m['work']:.3f} "
              f"| {m['to_answer']:.3f} |")
    for broker, m in results.items():
        per = ", ".join(f"{i:.3f}/{f:.3f}" for r in m["rounds"]
                        for i, f in zip(r["inc"], r["fetch"], strict=True))
        first = ", ".join(f"{r['first']:.2f}/{r['clone']:.2f}" for r in m["rounds"])
        print(f"{broker} rounds: first {first}; incremental {per}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, choices=(150, 1024), default=150, help="MB")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--brokers", default="embedded,redis")
    ap.add_argument("--code-root", default=str(ROOT), help="checkout whose service is measured")
    ap.add_argument("--idle-seconds", type=float, default=20.0)
    args = ap.parse_args()
    wl = workload(args.size)
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        served = make_served(Path(tmp), wl)
        for broker in args.brokers.split(","):
            print(f"{broker}: starting the service ...", flush=True)
            results[broker] = bench_broker(broker, wl, served, args, Path(tmp))
    wl.reset()
    report(results, args, wl)


if __name__ == "__main__":
    main()
