"""The closed- and open-loop HTTP load generator of bench/webhook_intake.py: client threads in a
forked process of their own, each on one keep-alive connection, timing each answer."""

from __future__ import annotations

import http.client
import itertools
import json
import multiprocessing
import select
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Sample:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    wall: float = 0.0

    def pct(self, q: float) -> float:
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(q * len(data)))] if data else float("nan")

    def line(self) -> str:
        return (f"p50 {self.pct(.5) * 1e3:6.1f} ms  p95 {self.pct(.95) * 1e3:6.1f} ms  "
                f"p99 {self.pct(.99) * 1e3:6.1f} ms  {len(self.latencies) / self.wall:6.0f} req/s"
                f"  statuses {dict(self.statuses)}")


def fire(base: str, items: list, clients: int, send, rate: float = 0.0, before=None) -> Sample:
    """``_fire`` in a forked process of its own: the fakes serving the worker's fetches in this
    one (dulwich, pure Python) would otherwise hold the clients' GIL and inflate their timings."""
    ctx = multiprocessing.get_context("fork")
    mine, theirs = ctx.Pipe()
    child = ctx.Process(target=lambda: theirs.send(_fire(base, items, clients, send, rate,
                                                         before)))
    child.start()
    sample, answers = mine.recv()
    child.join()
    for item, got in zip(items, answers, strict=True):
        if isinstance(item, dict):
            item["answers"] = got
    return sample


@dataclass
class Answer:
    status_code: int
    content_type: str
    body: bytes

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


class Client:
    """One keep-alive HTTP/1.1 connection (the standard library's http.client). A client costs
    the machine CPU the server needs: `requests` spent about 1 ms of it per delivery, enough on
    2 cores to cap a 404 at ~700 req/s; this spends a tenth of that. A connection the server
    closed while idle (gunicorn's keep-alive timeout) is opened again before the next request,
    as urllib3 does, so no request is ever sent twice."""

    def __init__(self, base: str) -> None:
        self.host, self.port = urlsplit(base).hostname, urlsplit(base).port
        self.conn: http.client.HTTPConnection | None = None

    def post(self, path: str, body: bytes, headers: dict) -> Answer:
        if self.conn is None or self._dropped():
            self.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        self.conn.request("POST", path, body=body, headers=headers)
        resp = self.conn.getresponse()
        answer = Answer(resp.status, resp.getheader("Content-Type", ""), resp.read())
        if resp.will_close:
            self.close()
        return answer

    def _dropped(self) -> bool:
        sock = self.conn.sock
        return sock is None or bool(select.select([sock], [], [], 0)[0])

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _fire(base: str, items: list, clients: int, send, rate: float,
          before) -> tuple[Sample, list]:
    """``clients`` threads, each with its own keep-alive connection, take ``items`` in order: as
    fast as answers come (closed loop), or the n-th item sent at n / ``rate`` seconds. ``before``
    (untimed) does what the sender does before it delivers, e.g. moving the remote's branch."""
    sample, lock, it, counter = Sample(), threading.Lock(), iter(items), itertools.count()
    origin = time.perf_counter() + 0.1

    def client() -> None:
        conn = Client(base)
        while True:
            with lock:
                item, n = next(it, None), next(counter)
            if item is None:
                return conn.close()
            if rate and (delay := origin + n / rate - time.perf_counter()) > 0:
                time.sleep(delay)
            if before is not None:
                before(item)
            start = time.perf_counter()
            resp = send(conn, item)
            elapsed = time.perf_counter() - start
            with lock:
                sample.latencies.append(elapsed)
                sample.statuses[resp.status_code] += 1
                item_result(item, resp)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sample.wall = time.perf_counter() - start
    return sample, [item["answers"] if isinstance(item, dict) else None for item in items]


def item_result(item, resp: Answer) -> None:
    if isinstance(item, dict):
        body = resp.json() if resp.content_type == "application/json" else {}
        item["answers"].append((resp.status_code, body.get("status"), body.get("run_id")))
        if resp.status_code >= 300 and resp.status_code != 202:
            print(f"    unexpected answer {resp.status_code}: {resp.text[:300]}", flush=True)
