"""Webhook intake under load, and `wait: true` triggers beside it (issue 9 point 3).

    python -m bench.webhook_intake                     # PostgreSQL + Redis, then embedded
    python -m bench.webhook_intake --backends pg --rounds 3 --wait-slots 64   # no cap: "before"

The server is `make run`'s script (gunicorn --workers 2 --threads 4 and a Celery worker), on
its own PostgreSQL database and Redis queue, or on the embedded default (SQLite + filesystem
broker). The remotes are the stateful GitHub fake (tests/fakes, git smart HTTP) over real HTTP.

Per round, 20 clients send 2,000 signed GitHub push deliveries (the reference payload, real
commits): 1,000 pushes over 4 configs, each delivered twice under the same X-GitHub-Delivery,
the copy a few places later (sometimes concurrently with the first). The remote's branch moves
to each push's commit before its delivery is sent, as a host does. Checked per round: no 5xx,
each delivery id answered `queued` once and `duplicate` once, one recorded delivery per id,
never more than one queued run per config (sampled every 50 ms), and, once the worker drains,
every local tree equal to the remote's. Then the same with 16 clients holding `wait: true`
triggers on runs of a slow remote (2 s per git request), with /healthz probed beside them.

Bound: the 50 ms p99 target; and, measured in the same run, the floor of any request through
the same stack: 2,000 deliveries to an unknown config (one lookup, answered 404) from 20
clients; and the serving stack alone (bench/serving_floor.py: the same gunicorn in front of a
bare WSGI callable, then of a bare Django view), the least any Django view can answer in.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import random
import statistics
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests

from bench import intake_stack as st
from bench import serving_floor
from bench.http_load import Answer, Client, Sample, fire
from bench.intake_checks import QueuedSampler, check_round, drain, trees_equal

TARGET_P99 = 0.050


def floor_burst(server: st.Server, n: int, clients: int) -> Sample:
    path = "/v1/sync-webhooks/github/sync_doesnotexist"
    return fire(server.base, list(range(n)), clients, lambda c, _: c.post(
        path, b"{}", {"X-GitHub-Event": "push", "X-GitHub-Delivery": "x"}))


def deliveries(fake, configs: list[st.Config], n: int, tag: str, rng: random.Random) -> list:
    """n deliveries: n/2 pushes round-robin over the configs, each sent twice."""
    per = n // 2 // len(configs)
    for config in configs:
        st.prepare_pushes(fake, config, per)
    originals = [{"config": c, "index": i, "id": f"{tag}-{c.slug}-{i}", "answers": [],
                  "body": st.push_body(c, i)} for i in range(1, per + 1) for c in configs]
    for item in originals:  # signed up front: the clients only send
        item["signature"] = st.sign(item["config"].secret, item["body"])
    order: list = list(originals)
    for pos, item in reversed(list(enumerate(originals))):
        order.insert(min(len(order), pos + rng.randint(1, 40)), item)  # its redelivery
    return order


def push_made(fake):
    """The host moves its branch, then delivers the push: untimed, it is not the server's work."""
    return lambda item: st.advance(fake, item["config"], item["index"])


def send_delivery(conn: Client, item: dict) -> Answer:
    config = item["config"]
    headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": item["id"],
               "X-Hub-Signature-256": item["signature"],
               "Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/bench"}
    return conn.post(f"/v1/sync-webhooks/github/{config.sync_id}", item["body"], headers)


class Waiters:
    """``n`` clients each holding a `wait: true` trigger on a slow config, again and again."""

    def __init__(self, server: st.Server, configs: list[st.Config], n: int) -> None:
        self.server, self.configs, self.stop = server, configs, threading.Event()
        self.sample, self.threads = Sample(), [threading.Thread(target=self._loop, args=(i,),
                                                                daemon=True) for i in range(n)]
        self.health = Sample()

    def _loop(self, i: int) -> None:
        api, config = st.Api(self.server), self.configs[i % len(self.configs)]
        while not self.stop.is_set():
            start = time.perf_counter()
            try:
                resp = api.session.post(f"{self.server.base}/v1/repos/{config.slug}/sync",
                                        json={"sync_id": config.sync_id, "wait": True},
                                        timeout=300)
            except requests.ConnectionError:  # a keep-alive connection the server just closed
                self.sample.statuses["reset"] += 1
                continue
            self.sample.latencies.append(time.perf_counter() - start)
            self.sample.statuses[resp.status_code] += 1
            if resp.status_code == 202:  # as a client does: follow the run, then again
                with contextlib.suppress(requests.ConnectionError):
                    self._follow(api, config, resp.json()["run_id"])

    def _follow(self, api: st.Api, config: st.Config, run: str) -> None:
        url = f"{self.server.base}/v1/repos/{config.slug}/sync/runs/{run}"
        while not self.stop.wait(1.0):
            if api.session.get(url, timeout=300).json().get("status") not in ("queued", "running"):
                return

    def _probe(self) -> None:
        with requests.Session() as session:
            while not self.stop.wait(0.2):
                start = time.perf_counter()
                resp = session.get(f"{self.server.base}/healthz", timeout=300)
                self.health.latencies.append(time.perf_counter() - start)
                self.health.statuses[resp.status_code] += 1

    def __enter__(self) -> Waiters:
        self.started = time.perf_counter()
        self.threads.append(threading.Thread(target=self._probe, daemon=True))
        for t in self.threads:
            t.start()
        time.sleep(3)  # let every waiter reach its wait before intake starts
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=120)
        self.sample.wall = self.health.wall = time.perf_counter() - self.started


def one_backend(tmp: Path, postgres: bool, args, rng: random.Random) -> list[str]:
    label = "PostgreSQL + Redis" if postgres else "embedded (SQLite + filesystem broker)"
    extra = {"COREGIT_SYNC_WAIT_SLOTS": str(args.wait_slots)} if args.wait_slots >= 0 else {}
    rows = []
    tmp = tmp / ("pg" if postgres else "embedded")
    with st.github(tmp / "gh") as (fake, host), \
            st.github(tmp / "slow", st.SlowGitHub) as (slow, slow_host), \
            st.make_run(tmp / "server", postgres=postgres,
                        code=Path(args.code_root), broker=args.broker, **extra) as server:
        api = st.Api(server)
        configs = st.make_configs(api, fake, host, "hook", args.configs, auto_sync=True)
        slow_configs = st.make_configs(api, slow, slow_host, "slow", 4, auto_sync=False)
        floor = [floor_burst(server, args.deliveries, args.clients) for _ in range(args.rounds)]
        print(f"[{label}] floor (unknown config, 404): {floor[-1].line()}", flush=True)
        tags = (f"r{i}" for i in itertools.count())
        for waiting, rate in ((0, 0.0), (0, args.rate), (args.waiters, 0.0)):
            results = []
            for _ in range(args.rounds if not rate else 1):
                tag = next(tags)
                items = deliveries(fake, configs, args.deliveries, tag, rng)
                sampler = QueuedSampler(server, [c.sync_id for c in configs])
                sampler.start()
                if waiting:
                    with Waiters(server, slow_configs, waiting) as waiters:
                        sample = fire(server.base, items, args.clients, send_delivery,
                                      before=push_made(fake))
                else:
                    sample = fire(server.base, items, args.clients, send_delivery, rate,
                                  before=push_made(fake))
                sampler.stop.set()
                sampler.join()
                checks = check_round(server, items, configs, tag)
                drained = drain(server, configs + (slow_configs if waiting else []))
                checks.update(max_queued_per_config=sampler.most,
                              with_retries=sampler.most_with_retries, drained_s=round(drained, 1),
                              trees_equal=trees_equal(server, fake, configs))
                print(f"[{label}] intake, {waiting} waiters{f', paced {rate:.0f}/s' if rate else ''}"
                      f": {sample.line()}\n    {checks}",
                      flush=True)
                if waiting:
                    print(f"    waiters: {waiters.sample.line()}\n    /healthz: "
                          f"{waiters.health.line()}", flush=True)
                results.append((sample, checks, waiters if waiting else None))
            rows.append(summary(label + (f", paced {rate:.0f}/s" if rate else ""), waiting,
                                results, floor))
    return rows


def summary(label: str, waiting: int, results: list, floor: list[Sample]) -> str:
    med = lambda f: statistics.median(f(s) for s, _, _ in results)  # noqa: E731
    p99 = med(lambda s: s.pct(.99))
    floor99 = statistics.median(s.pct(.99) for s in floor)
    fivexx = sum(n for s, _, _ in results for code, n in s.statuses.items() if code >= 500)
    checks = [c for _, c, _ in results]
    ok = all(c["wrong_answers"] == 0 and c["recorded"] == c["unique"] and c["trees_equal"]
             and c["max_queued_per_config"] <= 1 for c in checks)
    health = ""
    if waiting:
        hp99 = statistics.median(w.health.pct(.99) for _, _, w in results)
        codes = sum((w.sample.statuses for _, _, w in results), Counter())
        health = f" /healthz p99 {hp99 * 1e3:.0f} ms; waiters answered {dict(codes)};"
    return (f"| {label} | {waiting} | {med(lambda s: s.pct(.5)) * 1e3:.1f} | "
            f"{med(lambda s: s.pct(.95)) * 1e3:.1f} | {p99 * 1e3:.1f} | "
            f"{med(lambda s: len(s.latencies) / s.wall):.0f} | {fivexx} | "
            f"{p99 / TARGET_P99:.2f} | {floor99 * 1e3:.1f} ({p99 / floor99:.2f}×) | "
            f"{'yes' if ok else 'NO'} ({max(c['runs_queued'] for c in checks)} runs max, "
            f"{max(c['max_queued_per_config'] for c in checks)} queued max per config);{health} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--deliveries", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--configs", type=int, default=4)
    ap.add_argument("--waiters", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--rate", type=float, default=100.0, help="the paced round: deliveries/s "
                    "from all clients together (an open loop, as a host delivers pushes)")
    ap.add_argument("--backends", default="pg,embedded")
    ap.add_argument("--wait-slots", type=int, default=-1, help="COREGIT_SYNC_WAIT_SLOTS (-1: "
                    "the default, half the threads; a large number: no cap, as before)")
    ap.add_argument("--code-root", default=str(st.ROOT), help="serve another checkout (the "
                    "same venv), e.g. the commit before a change, for a before figure")
    ap.add_argument("--broker", default="", help="Redis URL; a checkout that predates "
                    "COREGIT_TASK_QUEUE needs a Redis database of its own, e.g. .../13")
    ap.add_argument("--fake-nice", type=int, default=st.RemoteGitHub.nice, help="CPU priority "
                    "of the fakes' git serving (they stand in for hosts on other machines)")
    args = ap.parse_args()
    st.RemoteGitHub.nice = args.fake_nice
    rng, rows = random.Random(9), []
    floors = serving_floor.lines(serving_floor.measure(args.deliveries, args.clients))
    print("\n".join(floors), flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        for backend in args.backends.split(","):
            rows += one_backend(Path(tmp), backend == "pg", args, rng)
    print("\n| server | waiters | p50 ms | p95 ms | p99 ms | req/s | 5xx | p99 / 50 ms | "
          "floor p99 ms (ratio) | checks |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    print("\n".join(["", *floors]))


if __name__ == "__main__":
    main()
