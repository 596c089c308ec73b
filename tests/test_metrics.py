"""``/metrics`` through the real server: series after real syncs (in-process and prefork workers),
webhook results, rate limits, queue gauges, and the token / loopback rules."""

import hashlib
import hmac
import re
import time

import pytest
import requests
from prometheus_client import Counter
from prometheus_client.parser import text_string_to_metric_families

from sync.models import SyncConfig, SyncRun
from sync.run_services import sync_run_request
from tests.fakes.github import FakeGitHub
from tests.fixtures import BrokerQueue, route_tasks_to
from tests.support.paths import ROOT, WEBHOOKS
from tests.sync.conftest import git_config, git_remote, repo  # noqa: F401 - fixtures
from tests.workers.prefork import prefork_queue, prefork_worker

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN = "ghp_metrics"


def scrape(base: str, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    resp = requests.get(f"{base}/metrics", headers=headers, timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("text/plain; version=")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(resp.text) for s in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def wait_for(condition, what: str, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return result


def _push_commit(git_remote, text: str) -> None:  # noqa: F811
    git_remote.work.write("README.md", text)
    git_remote.work.commit(text)
    git_remote.work.push()


RUN = {"provider": "git", "direction": "import"}


def test_a_real_sync_shows_in_runs_durations_and_worker_heartbeats(
        api, live_server, live_worker, git_remote, git_config):  # noqa: F811
    base = live_server.url
    before = scrape(base)
    _push_commit(git_remote, "one")
    done = api.post("/v1/repos/app/sync", {"sync_id": git_config["id"]}, format="json")
    assert done.status_code == 200, done.json()

    finished = "coregit_sync_runs_finished_total"
    after = wait_for(lambda: (s := scrape(base)) and value(
        s, finished, status="success", **RUN) > value(before, finished, status="success", **RUN)
        and s, "the finished run to be counted")
    assert value(after, finished, status="success", **RUN) == \
        value(before, finished, status="success", **RUN) + 1
    for phase in ("queued", "running", "total"):
        count = "coregit_sync_run_duration_seconds_count"
        assert value(after, count, phase=phase, **RUN) == value(before, count, phase=phase, **RUN) + 1
    total = value(after, "coregit_sync_run_duration_seconds_sum", phase="total", **RUN) - \
        value(before, "coregit_sync_run_duration_seconds_sum", phase="total", **RUN)
    run = SyncRun.objects.get()
    assert total == pytest.approx((run.completed_at - run.created_at).total_seconds(), abs=1e-3)
    # Every stretch of an execution phase the run went through is one observation.
    passed = run.progress["phases"]
    assert {"resolving", "fetching", "writing"} <= set(passed), passed
    phase_seconds = 0.0
    for phase in set(passed):
        count, sum_ = ("coregit_sync_phase_duration_seconds_" + s for s in ("count", "sum"))
        assert value(after, count, phase=phase, **RUN) - value(before, count, phase=phase, **RUN) \
            == passed.count(phase), phase
        phase_seconds += value(after, sum_, phase=phase, **RUN) - value(before, sum_, phase=phase,
                                                                        **RUN)
    assert 0 < phase_seconds <= (run.completed_at - run.started_at).total_seconds()
    assert value(after, "coregit_sync_runs", status="success", **RUN) == 1
    assert value(after, "coregit_sync_oldest_queued_run_age_seconds") == 0

    def heartbeats() -> dict | None:
        # The session's worker beats every COREGIT_HEARTBEAT_SECONDS; an earlier test's flush
        # may have emptied the table since its last beat.
        samples = scrape(base)
        ages = {dict(labels)["worker"]: v for (name, labels), v in samples.items()
                if name == "coregit_worker_heartbeat_age_seconds"}
        return (ages, samples) if live_worker.hostname in ages else None

    ages, samples = wait_for(heartbeats, "the live worker's heartbeat")
    assert 0 <= ages[live_worker.hostname] < 60
    assert value(samples, "coregit_workers_live") >= 1


@pytest.mark.slow
def test_a_prefork_workers_series_reach_the_api_process(
        api, live_server, git_remote, git_config, _task_routes, tmp_path):  # noqa: F811
    """Multiprocess mode: the run is executed and observed in a pool process of another worker
    process tree; the scrape served by this process sums its files."""
    base = live_server.url
    queue = BrokerQueue(_task_routes, prefork_queue())
    queue.purge()
    before = scrape(base)
    _push_commit(git_remote, "prefork")
    with prefork_worker(tmp_path) as worker, route_tasks_to(prefork_queue()):
        run = sync_run_request(config=SyncConfig.objects.get(), trigger="api")
        wait_for(lambda: SyncRun.objects.get(pk=run.pk).finished, "the run to finish", 300)
        assert SyncRun.objects.get(pk=run.pk).status == "success", worker.output()[-3000:]
        finished = "coregit_sync_runs_finished_total"
        after = wait_for(lambda: (s := scrape(base)) and value(s, finished, status="success", **RUN)
                         > value(before, finished, status="success", **RUN) and s,
                         "the prefork worker's counter on the API's scrape")
        workers = {dict(labels)["worker"] for (name, labels) in after
                   if name == "coregit_worker_heartbeat_age_seconds"}
        assert any(w.startswith("prefork-") for w in workers), workers
    queue.purge()


def _sign(config: SyncConfig, body: bytes) -> str:
    secret = config.get_secret("webhook_secret_ciphertext").encode()
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def test_webhook_results_rate_limits_queue_depth_and_paused_configs(
        api, repo, live_server, unconsumed_queue, tmp_path):  # noqa: F811
    base = live_server.url
    gh = FakeGitHub(tmp_path / "gh")
    gh.add_token(TOKEN)
    gh.create_repo("Codertocat/Hello-World", empty=False, default_branch="master")
    with gh.mock() as rsps:
        rsps.add_passthru(base)
        conn = api.post("/v1/connections", {"provider": "github", "label": "GH",
                        "access_token": TOKEN}, format="json").json()["id"]
        made = api.post("/v1/repos/app/sync/config", {
            "connection_id": conn, "remote": "Codertocat/Hello-World", "branch": "master",
            "direction": "import", "auto_sync": True}, format="json")
        assert made.status_code == 201, made.json()
        config = SyncConfig.objects.get()
        before = scrape(base)
        body = (WEBHOOKS / "github/push.with-new-branch.payload.json").read_bytes()

        def deliver(delivery, event="push", payload=body, signature=None):
            return requests.post(f"{base}/v1/sync-webhooks/github/{config.id}", data=payload,
                                 timeout=30, headers={
                                     "X-GitHub-Event": event, "X-GitHub-Delivery": delivery,
                                     "Content-Type": "application/json",
                                     "X-Hub-Signature-256": signature or _sign(config, payload)})

        assert deliver("d1").status_code == 202
        assert deliver("d1").json() == {"status": "duplicate"}
        assert deliver("d2", signature="sha256=" + "0" * 64).status_code == 401
        tag = (WEBHOOKS / "github/push.payload.json").read_bytes()
        assert deliver("d3", payload=tag).json()["status"] == "ignored:not_a_branch"
        ping = (WEBHOOKS / "github/ping.payload.json").read_bytes()
        assert deliver("d4", event="ping", payload=ping).json()["status"] == "pong"
        assert deliver("", event="ping", payload=ping).status_code == 400  # no delivery id
        after = scrape(base)

    for result in ("queued", "duplicate", "bad_signature", "ignored", "received", "rejected"):
        name = "coregit_webhook_deliveries_total"
        assert value(after, name, provider="github", result=result) == \
            value(before, name, provider="github", result=result) + 1, result
    # The fake answers every API call with x-ratelimit-remaining: 4999; labelled by connection.
    assert value(after, "coregit_provider_rate_limit_remaining", provider="github",
                 connection=conn) == 4999
    # The queued webhook run waits in the queue no worker reads.
    assert unconsumed_queue.run_ids() == [SyncRun.objects.get().id]
    assert value(after, "coregit_queue_depth", queue=unconsumed_queue.name, source="redis") == 1
    assert value(after, "coregit_sync_runs", status="queued", provider="github",
                 direction="import") == 1
    assert value(after, "coregit_sync_oldest_queued_run_age_seconds") > 0
    assert value(after, "coregit_sync_configs_paused", provider="github") == 0
    SyncConfig.objects.update(auto_sync_paused=True)
    assert value(scrape(base), "coregit_sync_configs_paused", provider="github") == 1


def test_a_token_is_required_when_configured(live_server, settings, db):
    settings.COREGIT_METRICS_TOKEN = "metrics-s3cret"
    url = f"{live_server.url}/metrics"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "metrics-s3cret"},
                    {"X-Forwarded-For": "127.0.0.1"}):
        resp = requests.get(url, headers=headers, timeout=30)
        assert resp.status_code == 401, headers
        assert resp.json()["code"] == "metrics.unauthorized"
        assert "metrics-s3cret" not in resp.text
    assert "coregit_sync_runs" in requests.get(
        url, headers={"Authorization": "Bearer metrics-s3cret"}, timeout=30).text


def test_without_a_token_only_loopback_clients_are_served(live_server, client, settings, db):
    settings.COREGIT_METRICS_TOKEN = ""
    assert requests.get(f"{live_server.url}/metrics", timeout=30).status_code == 200
    # The socket's address decides; a forged X-Forwarded-For from outside changes nothing.
    remote = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert remote.status_code == 403 and remote.json()["code"] == "metrics.forbidden"
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200


def test_the_readme_documents_every_series():
    from observability import series

    documented = set(re.findall(r"^\| `(coregit_[a-z_]+)` \|",
                                (ROOT / "README.md").read_text(), re.M))
    counters = {m._name + "_total" for m in vars(series).values() if isinstance(m, Counter)}
    names = set(re.findall(r'"(coregit_[a-z_]+)"', "".join(
        (ROOT / "observability" / f).read_text() for f in ("series.py", "collector.py"))))
    expected = counters | {n for n in names if n + "_total" not in counters}
    assert len(expected) >= 12 and expected - documented == set()
