"""Unauthenticated webhook URLs answer hostile input with a JSON 4xx and log no error, and a
captured delivery replayed under a new delivery id queues nothing (real payloads)."""

import json
import logging

import pytest

from sync.models import SyncRun, WebhookDelivery
from tests.sync.test_provider_webhook_intake import (
    deliver,
    gh,
    gh_config,
    gl,
    gl_config,
    gl_deliver,
    payload,
    sign,
)

__all__ = ["gh", "gh_config", "gl", "gl_config"]  # fixtures shared with test_provider_webhook_intake
PUSH = "github/push.with-new-branch.payload.json"
DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000


def no_errors_logged(caplog) -> bool:
    return not [r for r in caplog.records if r.levelno >= logging.ERROR]


def assert_json_4xx(resp, expected: int) -> None:
    assert resp.status_code == expected, resp.content[:200]
    assert resp["Content-Type"].startswith("application/json")
    assert "error" in resp.json()


def with_fields(**fields) -> bytes:
    body = json.loads(payload(PUSH))
    body.update(fields)
    return json.dumps(body).encode()


@pytest.mark.parametrize("body", [
    json.dumps({"repository": {"full_name": "Codertocat/Hello\u0000World"}}).encode(),
    json.dumps({"repository": {"full_name": "x" * 5000}}).encode(),
    DEEP, DEEP_OBJECT, b'{"repository": {"full_name": "\xff\xfe"}}', b"\x00\x01\x02", b"[]",
])
def test_shared_url_answers_401_for_hostile_bodies(client, gh, gh_config, body, caplog):
    caplog.set_level(logging.INFO)
    resp = client.post("/v1/sync-webhooks/github", data=body, content_type="application/json",
                       HTTP_X_GITHUB_EVENT="push", HTTP_X_GITHUB_DELIVERY="d-hostile")
    assert_json_4xx(resp, 401)
    assert no_errors_logged(caplog)
    assert not WebhookDelivery.objects.exists()


def test_gitlab_shared_url_with_nul_in_the_project_path(client, gl, gl_config, caplog):
    body = json.dumps({"project": {"path_with_namespace": "jsmith/\u0000example"}}).encode()
    resp = client.post("/v1/sync-webhooks/gitlab", data=body, content_type="application/json",
                       HTTP_X_GITLAB_EVENT="Push Hook", HTTP_X_GITLAB_TOKEN="x")
    assert_json_4xx(resp, 401)
    assert no_errors_logged(caplog)


@pytest.mark.parametrize("body", [
    with_fields(ref=5), with_fields(ref=["refs/heads/master"]), with_fields(ref=None, after=7),
    with_fields(after={"sha": "x"}), with_fields(after="not-a-sha"),
    with_fields(ref="refs/heads/mas\u0000ter"), DEEP, DEEP_OBJECT,
    b'{"ref": "refs/heads/\xff"}', b"[1, 2]", b'"push"', b"null", b"{",
])
def test_signed_but_malformed_payloads_are_400(client, gh, gh_config, body, caplog):
    caplog.set_level(logging.INFO)
    resp = deliver(client, gh_config, body, delivery="d-bad")
    assert_json_4xx(resp, 400)
    assert no_errors_logged(caplog)
    assert not SyncRun.objects.exists() and not WebhookDelivery.objects.exists()


@pytest.mark.parametrize("headers", [
    {"HTTP_X_GITHUB_DELIVERY": "abc\x00def"}, {"HTTP_X_GITHUB_DELIVERY": "with space"},
    {"HTTP_X_GITHUB_EVENT": "pu\x00sh"}, {"HTTP_X_GITHUB_EVENT": "p" * 200},
])
def test_malformed_headers_are_400(client, gh, gh_config, headers, caplog):
    body = payload(PUSH)
    base = {"HTTP_X_GITHUB_EVENT": "push", "HTTP_X_GITHUB_DELIVERY": "d-h",
            "HTTP_X_HUB_SIGNATURE_256": sign(gh_config, body)}
    resp = client.post(f"/v1/sync-webhooks/github/{gh_config.id}", data=body,
                       content_type="application/json", **{**base, **headers})
    assert_json_4xx(resp, 400)
    assert no_errors_logged(caplog)
    assert not WebhookDelivery.objects.exists()


def test_other_methods_are_a_json_405(client, db):
    resp = client.get("/v1/sync-webhooks/github")
    assert_json_4xx(resp, 405)
    assert resp["Allow"] == "POST"


# --- replays ------------------------------------------------------------------------------------
def _finish_runs() -> None:
    """As a worker would: the queued run ran, so a new trigger could not coalesce into it."""
    SyncRun.objects.update(status=SyncRun.Status.SUCCESS)


def test_a_replayed_github_delivery_queues_no_second_import(client, gh, gh_config):
    body = payload(PUSH)
    first = deliver(client, gh_config, body, delivery="original")
    assert first.status_code == 202
    _finish_runs()
    replay = deliver(client, gh_config, body, delivery="forged-new-id")
    assert replay.status_code == 200 and replay.json()["status"] == "ignored:duplicate_push"
    assert SyncRun.objects.count() == 1
    assert WebhookDelivery.objects.filter(delivery_id="forged-new-id").get().run_id is None

    # A genuinely new push (the branch moved on from that sha) still queues.
    after = json.loads(body)["after"]
    newer = with_fields(before=after, after="1" * 40)
    assert deliver(client, gh_config, newer, delivery="next").status_code == 202
    _finish_runs()
    # ...and so does a later push back to the first sha: it moved from another sha.
    back = with_fields(before="1" * 40, after=after)
    assert deliver(client, gh_config, back, delivery="revert").status_code == 202
    assert SyncRun.objects.count() == 3


def test_a_replayed_gitlab_delivery_queues_no_second_import(client, gl, gl_config):
    token = gl_config.get_secret("webhook_secret_ciphertext")
    first = gl_deliver(client, gl_config, {"HTTP_X_GITLAB_TOKEN": token,
                                           "HTTP_IDEMPOTENCY_KEY": "k-original"})
    assert first.status_code == 202
    _finish_runs()
    replay = gl_deliver(client, gl_config, {"HTTP_X_GITLAB_TOKEN": token,
                                            "HTTP_IDEMPOTENCY_KEY": "k-replayed"})
    assert replay.status_code == 200 and replay.json()["status"] == "ignored:duplicate_push"
    assert SyncRun.objects.count() == 1
    moved = json.loads(payload("gitlab/push.json"))
    moved["before"], moved["after"], moved["checkout_sha"] = moved["after"], "2" * 40, "2" * 40
    newer = gl_deliver(client, gl_config, {"HTTP_X_GITLAB_TOKEN": token,
                                           "HTTP_IDEMPOTENCY_KEY": "k-next"},
                       body=json.dumps(moved).encode())
    assert newer.status_code == 202 and SyncRun.objects.count() == 2
