"""What bench/webhook_intake.py checks each round: answers, recorded deliveries, queued runs per
config while the burst goes on, and the trees once the worker has drained."""

from __future__ import annotations

import threading
import time

from bench import intake_stack as st
from tests.fakes import gitrepo


class QueuedSampler(threading.Thread):
    """The most queued runs any one config had at once, sampled every 50 ms."""

    def __init__(self, server: st.Server, sync_ids: list[str]) -> None:
        super().__init__(daemon=True)
        self.server, self.ids, self.stop, self.most, self.samples = server, sync_ids, \
            threading.Event(), 0, 0
        self.most_with_retries = 0

    def run(self) -> None:
        conn = self.server.db()
        marks = ",".join("'" + i + "'" for i in self.ids)
        # Runs queued by intake: a run back in the queue to retry a failed attempt (attempts >
        # 0; here, the remote's branch moved between its ls-refs and its fetch) is counted apart.
        sql = ("SELECT config_id, SUM(CASE WHEN attempts = 0 THEN 1 ELSE 0 END), COUNT(*) "
               "FROM sync_syncrun WHERE status = 'queued' "
               f"AND config_id IN ({marks}) GROUP BY config_id")
        while not self.stop.wait(0.05):
            rows = conn.execute(sql).fetchall()
            self.most = max([self.most, *(n for _, n, _ in rows)])
            self.most_with_retries = max([self.most_with_retries, *(n for _, _, n in rows)])
            self.samples += 1
        conn.close()


def check_round(server: st.Server, items: list, configs: list[st.Config], tag: str) -> dict:
    firsts = [i for i in items if i["answers"]]
    uniq = {i["id"]: i for i in firsts}.values()
    wrong = [i["id"] for i in uniq
             if sorted(str(a[1]) for a in i["answers"]) != ["duplicate", "queued"]]
    runs = {a[2] for i in uniq for a in i["answers"] if a[2]}
    conn = server.db()
    recorded = conn.execute("SELECT COUNT(*), COUNT(DISTINCT delivery_id) FROM "
                            f"sync_webhookdelivery WHERE delivery_id LIKE '{tag}-%'").fetchone()
    conn.close()
    return {"unique": len(uniq), "wrong_answers": len(wrong), "recorded": recorded[0],
            "recorded_distinct": recorded[1], "runs_queued": len(runs)}


def drain(server: st.Server, configs: list[st.Config], timeout: float = 900) -> float:
    marks = ",".join("'" + c.sync_id + "'" for c in configs)
    sql = (f"SELECT COUNT(*) FROM sync_syncrun WHERE config_id IN ({marks}) "
           "AND status IN ('queued', 'running')")
    start, conn = time.monotonic(), server.db()
    try:
        while conn.execute(sql).fetchone()[0]:
            if time.monotonic() - start > timeout:
                raise RuntimeError("the worker did not drain the runs")
            time.sleep(0.2)
    finally:
        conn.close()
    return time.monotonic() - start


def trees_equal(server: st.Server, fake, configs: list[st.Config]) -> bool:
    ok = True
    for c in configs:
        local = next((server.data / "repos").glob(f"*/{c.repo_id}.git"))
        ok &= gitrepo.local_tree_id(local, "main") == fake.tree_sha(c.remote)
    return ok
