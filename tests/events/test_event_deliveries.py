"""Real deliveries: a real Celery worker sends them to a real HTTP server on 127.0.0.1, and the
signatures are verified with the standardwebhooks package."""

import json
import logging
import time

import pytest
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from core.errors import ProviderAuthError
from events.models import EVENT_TYPES, EventDelivery, EventHook
from events.services import event_emit
from sync import executor
from sync.models import SyncConfig
from sync.run_services import sync_run_request
from tests.sync.conftest import diverge

pytestmark = pytest.mark.django_db(transaction=True)


def _hook(api, url, events=EVENT_TYPES):
    made = api.post("/v1/event-hooks", {"url": url, "events": list(events)}, format="json")
    assert made.status_code == 201, made.json()
    return made.json()


def _verified(secret, received) -> dict:
    return Webhook(secret).verify(received.body, received.headers)


def _until(check, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def _settled(hook_id, count):
    """The hook's deliveries once ``count`` of them are no longer pending."""
    def done():
        rows = list(EventDelivery.objects.filter(hook_id=hook_id).order_by("created_at"))
        settled = [d for d in rows if d.status != EventDelivery.Status.PENDING]
        return rows if len(settled) >= count else None
    return _until(done)


def _attempts(client) -> dict[str, float]:
    """``coregit_event_delivery_attempts_total`` by result, as /metrics serves it (the worker's
    counts included)."""
    text = client.get("/metrics").content.decode()
    return {s.labels["result"]: s.value for f in text_string_to_metric_families(text)
            for s in f.samples if s.name == "coregit_event_delivery_attempts_total"
            and s.labels["event"] == "sync.run.failed"}


def _trigger(api, config, **extra):
    return api.post("/v1/repos/app/sync", {"sync_id": config["id"], **extra}, format="json")


def test_run_outcomes_are_delivered_signed(api, repo, git_remote, git_config, live_worker,
                                           receiver, caplog):
    caplog.set_level(logging.DEBUG)
    hook = _hook(api, receiver.url)
    secret = hook["secret"]
    git_remote.work.write("a.txt", "1")
    git_remote.work.commit("one")
    git_remote.work.push()
    ok = _trigger(api, git_config)
    assert ok.status_code == 200, ok.json()

    first = receiver.wait_for(1)[0]
    event = _verified(secret, first)
    assert event["type"] == "sync.run.succeeded" and event["data"]["run"]["id"] == ok.json()[
        "run_id"]
    assert event["data"]["run"]["status"] == "success"
    assert event["data"]["repository"]["slug"] == "app"
    assert first.headers["webhook-id"].startswith("msg_") and first.path == "/hooks/coregit"
    with pytest.raises(WebhookVerificationError):  # the signature covers the body
        Webhook(secret).verify(first.body.replace(b"success", b"failure"), first.headers)

    # Local work, then a remote commit: the import refuses to overwrite (diverged).
    diverge(repo, git_remote)
    refused = _trigger(api, git_config)
    assert refused.status_code == 409
    later = receiver.wait_for(3)[1:]
    events = {e["type"]: e for e in (_verified(secret, r) for r in later)}
    assert set(events) == {"sync.run.failed", "sync.diverged"}
    for e in events.values():
        assert e["data"]["run"]["id"] == refused.json()["run_id"]
        assert e["data"]["run"]["error_code"] == "sync.diverged"

    rows = _settled(hook["id"], 3)
    assert all(d.status == "succeeded" and d.response_code == 204 and d.attempt == 1
               for d in rows)
    page = api.get(f"/v1/event-hooks/{hook['id']}/deliveries?limit=2").json()
    assert len(page["deliveries"]) == 2 and page["next_cursor"]
    rest = api.get(f"/v1/event-hooks/{hook['id']}/deliveries?limit=2&cursor="
                   f"{page['next_cursor']}").json()
    assert rest["next_cursor"] is None
    listed = page["deliveries"] + rest["deliveries"]
    assert [d["id"] for d in listed] == [d.id for d in reversed(rows)]
    assert listed[-1]["event"] == "sync.run.succeeded"
    for d in listed:
        assert (d["status"], d["response_code"], d["attempt"]) == ("succeeded", 204, 1)
        assert isinstance(d["duration_ms"], int) and d["webhook_id"].startswith("msg_")
    assert secret not in json.dumps(page) + json.dumps(rest) + caplog.text


def test_auto_sync_pause_and_resume_are_delivered(api, repo, git_config, live_worker, receiver,
                                                  monkeypatch):
    hook = _hook(api, receiver.url, ["sync.auto_sync_paused", "sync.auto_sync_resumed"])
    SyncConfig.objects.update(consecutive_failures=9)  # one more automatic failure pauses

    def refused(config, run, state):
        raise ProviderAuthError("The git host refused the credentials", status=401)

    monkeypatch.setattr(executor, "execute", refused)
    sync_run_request(config=SyncConfig.objects.get(), trigger="webhook")
    paused = _verified(hook["secret"], receiver.wait_for(1)[0])
    assert paused["type"] == "sync.auto_sync_paused"
    assert paused["data"]["config_id"] == git_config["id"]
    assert paused["data"]["consecutive_failures"] == 10
    assert SyncConfig.objects.get().auto_sync_paused is True

    assert api.patch("/v1/repos/app/sync/config", {"overwrite_diverged": True},
                     format="json").status_code == 200
    resumed = _verified(hook["secret"], receiver.wait_for(2)[1])
    assert resumed["type"] == "sync.auto_sync_resumed"
    assert resumed["data"]["reason"] == "config_updated"
    # The run's own failure was not subscribed to: no delivery was even recorded for it.
    assert sorted(EventDelivery.objects.values_list("event_type", flat=True)) == [
        "sync.auto_sync_paused", "sync.auto_sync_resumed"]


@override_settings(COREGIT_EVENT_RETRY_BASE_SECONDS=0.05, COREGIT_EVENT_MAX_ATTEMPTS=3,
                   COREGIT_EVENT_DISABLE_AFTER=5)
def test_failures_are_retried_then_the_hook_is_disabled_and_redelivery_works(
        api, org, live_worker, receiver, client):
    before = _attempts(client)
    hook = _hook(api, receiver.url, ["sync.run.failed"])
    receiver.statuses = [500] * 5
    event_emit(org_id=org.id, event_type="sync.run.failed", data={"n": 1})
    [first] = _settled(hook["id"], 1)
    assert (first.status, first.attempt, first.response_code) == ("failed", 3, 500)
    assert "HTTP 500" in first.error
    assert len(receiver.wait_for(3)) == 3
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert ids == {first.message_id}  # every attempt is the same message
    assert EventHook.objects.get(id=hook["id"]).disabled is False

    event_emit(org_id=org.id, event_type="sync.run.failed", data={"n": 2})
    rows = _settled(hook["id"], 2)
    assert (rows[1].status, rows[1].attempt) == ("failed", 2)  # stopped: the hook was disabled
    shown = api.get(f"/v1/event-hooks/{hook['id']}").json()
    assert shown["disabled"] is True and "5 consecutive" in shown["disabled_reason"]
    assert shown["consecutive_failures"] == 5
    assert event_emit(org_id=org.id, event_type="sync.run.failed", data={"n": 3}) == []

    redeliver = f"/v1/event-hooks/{hook['id']}/deliveries/{first.id}/redeliver"
    refused = api.post(redeliver)
    assert refused.status_code == 400 and "disabled" in refused.json()["error"]
    enabled = api.patch(f"/v1/event-hooks/{hook['id']}", {"disabled": False}, format="json")
    assert enabled.json()["disabled"] is False
    again = api.post(redeliver)
    assert again.status_code == 202, again.json()
    assert again.json()["redelivery_of"] == first.id
    received = receiver.wait_for(6)[5]
    assert received.headers["webhook-id"] == first.message_id
    assert _verified(hook["secret"], received)["data"] == {"n": 1}
    done = _until(lambda: EventDelivery.objects.filter(
        id=again.json()["id"], status="succeeded").first())
    assert (done.attempt, done.response_code) == (1, 204)
    assert EventHook.objects.get(id=hook["id"]).consecutive_failures == 0
    # Every attempt, made by the worker, is counted by result on /metrics.
    after = _attempts(client)
    assert {r: after.get(r, 0) - before.get(r, 0) for r in ("retrying", "failed", "succeeded")} \
        == {"retrying": 3, "failed": 2, "succeeded": 1}


def test_the_url_guard_also_refuses_at_send_time(api, org, live_worker, receiver):
    hook = _hook(api, receiver.url, ["sync.run.failed"])  # admitted: private hosts allowed
    with override_settings(COREGIT_ALLOW_PRIVATE_HOSTS=False, COREGIT_EVENT_MAX_ATTEMPTS=1):
        event_emit(org_id=org.id, event_type="sync.run.failed", data={})
        [row] = _settled(hook["id"], 1)
    assert row.status == "failed" and row.response_code is None
    assert "http" in row.error.lower()
    assert receiver.received == []  # refused before any connection was made


def test_a_successful_manual_sync_of_a_paused_config_is_delivered_as_resumed(
        api, repo, git_remote, git_config, live_worker, receiver):
    hook = _hook(api, receiver.url, ["sync.auto_sync_resumed"])
    SyncConfig.objects.update(auto_sync_paused=True, consecutive_failures=10)
    git_remote.work.write("a.txt", "1")
    git_remote.work.commit("one")
    git_remote.work.push()
    assert _trigger(api, git_config).status_code == 200
    resumed = _verified(hook["secret"], receiver.wait_for(1)[0])
    assert resumed["type"] == "sync.auto_sync_resumed"
    assert resumed["data"]["reason"] == "manual_sync_succeeded"
    assert SyncConfig.objects.get().auto_sync_paused is False
