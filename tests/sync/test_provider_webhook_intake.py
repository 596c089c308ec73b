"""Webhook registration on the (stateful) provider fakes and the webhook intake, with real payloads."""

import hashlib
import hmac
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sync.models import SyncConfig, SyncRun, WebhookDelivery
from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import FakeGitLab
from tests.support.paths import WEBHOOKS

REF = WEBHOOKS
TOKEN = "ghp_hooks"


def payload(name: str) -> bytes:
    return (REF / name).read_bytes()


@pytest.fixture
def gh(tmp_path):
    fake = FakeGitHub(tmp_path)
    fake.add_token(TOKEN)
    fake.create_repo("Codertocat/Hello-World", empty=False, default_branch="master")
    fake.create_repo("octocat/other", empty=False, default_branch="master")
    with fake.mock():
        yield fake


@pytest.fixture
def gh_config(api, repo, gh):
    conn = api.post("/v1/connections", {"provider": "github", "label": "GH",
                    "access_token": TOKEN}, format="json").json()["id"]
    made = api.post("/v1/repos/app/sync/config", {
        "connection_id": conn, "remote": "Codertocat/Hello-World", "branch": "master",
        "direction": "import", "auto_sync": True}, format="json")
    assert made.status_code == 201, made.json()
    return SyncConfig.objects.get(id=made.json()["id"])


def sign(config: SyncConfig, body: bytes) -> str:
    secret = config.get_secret("webhook_secret_ciphertext").encode()
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def deliver(client, config, body, event="push", delivery="d-1", signature=None, path=None):
    headers = {"HTTP_X_GITHUB_EVENT": event, "HTTP_X_GITHUB_DELIVERY": delivery}
    if signature is not False:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature or sign(config, body)
    url = path or f"/v1/sync-webhooks/github/{config.id}"
    return client.post(url, data=body, content_type="application/json", **headers)


def test_registration_follows_the_config(api, gh, gh_config, django_capture_on_commit_callbacks):
    hooks = gh.hooks("Codertocat/Hello-World")
    assert len(hooks) == 1 and gh_config.webhook_id == hooks[0]["id"]
    assert hooks[0]["config"]["url"].endswith(f"/v1/sync-webhooks/github/{gh_config.id}")
    assert hooks[0]["events"] == ["push"] and hooks[0]["config"]["content_type"] == "json"
    secret = hooks[0]["config"]["secret"]
    assert secret and secret not in gh_config.webhook_secret_ciphertext
    assert api.get("/v1/repos/app/sync/config").json()["config"]["webhook_id"] == hooks[0]["id"]

    def patch(body):
        with django_capture_on_commit_callbacks(execute=True):
            resp = api.patch("/v1/repos/app/sync/config", body, format="json")
        assert resp.status_code == 200, resp.json()

    patch({"remote": "octocat/other"})
    assert gh.hooks("Codertocat/Hello-World") == [] and len(gh.hooks("octocat/other")) == 1
    patch({"auto_sync": False})
    assert gh.hooks("octocat/other") == []
    assert SyncConfig.objects.get().webhook_id is None
    patch({"auto_sync": True})
    assert len(gh.hooks("octocat/other")) == 1
    patch({"direction": "export"})
    assert gh.hooks("octocat/other") == []
    patch({"direction": "import"})
    with django_capture_on_commit_callbacks(execute=True):
        api.delete("/v1/repos/app/sync/config")
    assert gh.hooks("octocat/other") == []


def test_deleting_the_repository_removes_the_hook(api, gh, gh_config,
                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete("/v1/repos/app").status_code == 200
    assert gh.hooks("Codertocat/Hello-World") == [] and not SyncConfig.objects.exists()


def test_deleting_the_connection_removes_the_hook(api, gh, gh_config,
                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api.delete(f"/v1/connections/{gh_config.connection_id}")
    assert gh.hooks("Codertocat/Hello-World") == [] and not SyncConfig.objects.exists()


def test_removal_failure_is_recorded_never_blocks(api, gh, gh_config,
                                                  django_capture_on_commit_callbacks):
    gh.fail_next(status=500, times=1)
    with django_capture_on_commit_callbacks(execute=True):
        resp = api.patch("/v1/repos/app/sync/config", {"auto_sync": False}, format="json")
    assert resp.status_code == 200
    config = SyncConfig.objects.get()
    assert config.webhook_id is None and "webhook" in config.last_error


def test_signed_push_enqueues_one_import_and_replays_are_ignored(api, client, gh, gh_config):
    body = payload("github/push.with-new-branch.payload.json")
    assert json.loads(body)["ref"] == "refs/heads/master"
    first = deliver(client, gh_config, body, delivery="abc")
    assert first.status_code == 202 and first.json()["status"] == "queued"
    replay = deliver(client, gh_config, body, delivery="abc")
    assert replay.status_code == 200 and replay.json() == {"status": "duplicate"}
    run = SyncRun.objects.get()
    assert (run.trigger, run.direction, run.branch) == ("webhook", "import", "master")
    record = WebhookDelivery.objects.get()
    assert (record.event, record.outcome, record.run_id) == ("push", "queued", run.id)
    history = api.get("/v1/repos/app/sync/history").json()["runs"]
    assert [r["trigger"] for r in history] == ["webhook"]


def test_shared_url_finds_the_config_by_repository(client, gh, gh_config):
    body = payload("github/push.with-no-username-committer.payload.json")
    resp = deliver(client, gh_config, body, path="/v1/sync-webhooks/github")
    assert resp.status_code == 202
    bad = deliver(client, gh_config, body, delivery="x2", signature="sha256=" + "0" * 64,
                  path="/v1/sync-webhooks/github")
    assert bad.status_code == 401


@pytest.mark.parametrize("signature", [False, "sha256=" + "0" * 64, "sha1=abc", "garbage"])
def test_bad_or_missing_signature_is_401_and_records_nothing(client, gh, gh_config, signature):
    body = payload("github/push.with-new-branch.payload.json")
    resp = deliver(client, gh_config, body, signature=signature)
    assert resp.status_code == 401
    assert not SyncRun.objects.exists() and not WebhookDelivery.objects.exists()


def test_tampered_body_fails_the_signature(client, gh, gh_config):
    body = payload("github/push.with-new-branch.payload.json")
    resp = deliver(client, gh_config, body.replace(b"master", b"mister"),
                   signature=sign(gh_config, body))
    assert resp.status_code == 401


def test_ping_tags_deletions_and_other_branches_are_acknowledged_and_ignored(client, gh,
                                                                            gh_config):
    ping = deliver(client, gh_config, payload("github/ping.payload.json"), event="ping",
                   delivery="p1")
    assert ping.status_code == 200 and ping.json()["status"] == "pong"
    tag = deliver(client, gh_config, payload("github/push.payload.json"), delivery="t1")
    assert tag.status_code == 200 and tag.json()["status"] == "ignored:not_a_branch"
    other = json.loads(payload("github/push.with-new-branch.payload.json"))
    other["ref"] = "refs/heads/feature"
    body = json.dumps(other).encode()
    assert deliver(client, gh_config, body, delivery="o1").json()["status"] == \
        "ignored:other_branch"
    other["ref"], other["deleted"], other["after"] = "refs/heads/master", True, "0" * 40
    body = json.dumps(other).encode()
    assert deliver(client, gh_config, body, delivery="del1").json()["status"] == \
        "ignored:branch_deleted"
    issues = deliver(client, gh_config, b'{"action": "opened"}', event="issues", delivery="i1")
    assert issues.status_code == 200 and issues.json()["status"] == "ignored:event"
    assert not SyncRun.objects.exists()
    assert WebhookDelivery.objects.count() == 5


def test_oversized_body_is_413(client, gh, gh_config, settings):
    settings.COREGIT_MAX_WEBHOOK_BYTES = 1024
    body = b'{"pad": "' + b"x" * 2048 + b'"}'
    assert deliver(client, gh_config, body).status_code == 413
    assert not WebhookDelivery.objects.exists()


def test_receiver_never_calls_the_provider(client, gh, gh_config):
    before = sum(gh.calls_by_endpoint.values())
    deliver(client, gh_config, payload("github/push.with-new-branch.payload.json"))
    assert sum(gh.calls_by_endpoint.values()) == before


# --- GitLab -------------------------------------------------------------------------------------
@pytest.fixture
def gl(tmp_path):
    fake = FakeGitLab(tmp_path)
    fake.add_token("glpat-hooks", username="tanuki")
    fake.create_project("jsmith/example", empty=False, default_branch="master")
    with fake.mock():
        yield fake


@pytest.fixture
def gl_config(api, repo, gl):
    conn = api.post("/v1/connections", {"provider": "gitlab", "label": "GL",
                    "access_token": "glpat-hooks"}, format="json").json()["id"]
    made = api.post("/v1/repos/app/sync/config", {
        "connection_id": conn, "remote": "jsmith/example", "branch": "master",
        "auto_sync": True}, format="json")
    assert made.status_code == 201, made.json()
    return SyncConfig.objects.get()


def gl_deliver(client, config, headers, body=None):
    body = body or payload("gitlab/push.json")
    headers = {"HTTP_X_GITLAB_EVENT": "Push Hook", **headers}
    return client.post(f"/v1/sync-webhooks/gitlab/{config.id}", data=body,
                       content_type="application/json", **headers)


def test_gitlab_registration_with_branch_filter(gl, gl_config):
    registered = gl.hooks("jsmith/example")
    assert len(registered) == 1
    hook = registered[0]
    assert hook["push_events"] and hook["push_events_branch_filter"] == "master"
    assert hook["url"].endswith(f"/v1/sync-webhooks/gitlab/{gl_config.id}")
    assert hook["token"] == gl_config.get_secret("webhook_secret_ciphertext")


def test_gitlab_token_and_idempotency(client, gl, gl_config):
    token = gl_config.get_secret("webhook_secret_ciphertext")
    assert gl_deliver(client, gl_config, {}).status_code == 401
    assert gl_deliver(client, gl_config, {"HTTP_X_GITLAB_TOKEN": "wrong",
                                          "HTTP_IDEMPOTENCY_KEY": "k"}).status_code == 401
    ok = gl_deliver(client, gl_config, {"HTTP_X_GITLAB_TOKEN": token,
                                        "HTTP_IDEMPOTENCY_KEY": "k1",
                                        "HTTP_X_GITLAB_EVENT_UUID": "same-event"})
    assert ok.status_code == 202
    retry = gl_deliver(client, gl_config, {"HTTP_X_GITLAB_TOKEN": token,
                                           "HTTP_IDEMPOTENCY_KEY": "k1"})
    assert retry.json() == {"status": "duplicate"}
    # Same event UUID, but a different hook delivery: it is NOT a duplicate.
    other = gl_deliver(client, gl_config, {"HTTP_X_GITLAB_TOKEN": token,
                                           "HTTP_X_GITLAB_WEBHOOK_UUID": "w2",
                                           "HTTP_X_GITLAB_EVENT_UUID": "same-event"})
    assert other.status_code in (200, 202) and other.json()["status"] != "duplicate"
    assert WebhookDelivery.objects.count() == 2
    assert SyncRun.objects.filter(trigger="webhook").count() == 1  # the queued run is reused
    tag = gl_deliver(client, gl_config, {"HTTP_X_GITLAB_TOKEN": token,
                                         "HTTP_IDEMPOTENCY_KEY": "k3",
                                         "HTTP_X_GITLAB_EVENT": "Tag Push Hook"})
    assert tag.json()["status"] == "ignored:event"


def test_two_configs_on_one_repository_each_get_the_same_delivery(api, client, gh, gh_config,
                                                                   make_client):
    """GitHub sends every hook of one event the same X-GitHub-Delivery: de-duplicate per config."""
    from accounts.services import org_create

    other_client = make_client(org_create(name="Other")[1])
    other_client.post("/v1/repos", {"slug": "mirror"}, format="json")
    gh.add_token("ghp_other")
    conn = other_client.post("/v1/connections", {"provider": "github", "label": "GH2",
                             "access_token": "ghp_other"}, format="json").json()["id"]
    other_client.post("/v1/repos/mirror/sync/config", {
        "connection_id": conn, "remote": "Codertocat/Hello-World", "branch": "master",
        "auto_sync": True}, format="json")
    other = SyncConfig.objects.exclude(pk=gh_config.pk).get()
    body = payload("github/push.with-new-branch.payload.json")
    assert deliver(client, gh_config, body, delivery="same-guid").status_code == 202
    assert deliver(client, other, body, delivery="same-guid").status_code == 202
    assert SyncRun.objects.filter(config=other).count() == 1


@pytest.mark.parametrize("body", [b"[]", b'"x"', b'{"repository": "x"}', b"1", b"not json"])
def test_unauthenticated_odd_bodies_on_the_shared_url_are_401_not_500(client, body, db):
    resp = client.post("/v1/sync-webhooks/github", data=body, content_type="application/json",
                       HTTP_X_GITHUB_EVENT="push", HTTP_X_GITHUB_DELIVERY="d")
    assert resp.status_code == 401


def test_bad_content_length_and_oversized_delivery_id_are_400(client, gh, gh_config):
    resp = client.generic("POST", "/v1/sync-webhooks/github", data=b"{}",
                          content_type="application/json", CONTENT_LENGTH="abc")
    assert resp.status_code == 400
    body = payload("github/push.with-new-branch.payload.json")
    assert deliver(client, gh_config, body, delivery="x" * 500).status_code == 400
    assert not WebhookDelivery.objects.exists()


def test_a_push_joining_the_queued_run_is_one_read_and_one_insert(client, gh_config):
    """Intake's hot path (issue 9, webhook intake): the candidate read also answers "seen
    before?" and "which run is queued?", so a push that joins the queued run writes its delivery
    row alone, with no transaction around it, and a redelivery is that one read."""
    first = json.loads(payload("github/push.with-new-branch.payload.json"))
    second = dict(first, before=first["after"], after="b" * 40)
    queued = deliver(client, gh_config, json.dumps(first).encode(), delivery="d-1")
    assert queued.status_code == 202
    with CaptureQueriesContext(connection) as joined:
        again = deliver(client, gh_config, json.dumps(second).encode(), delivery="d-2")
    assert again.json() == {"status": "queued", "run_id": queued.json()["run_id"]}
    assert [q["sql"].split()[0] for q in joined.captured_queries] == ["SELECT", "INSERT"]
    with CaptureQueriesContext(connection) as repeated:
        dup = deliver(client, gh_config, json.dumps(second).encode(), delivery="d-2")
    assert dup.json() == {"status": "duplicate"} and len(repeated.captured_queries) == 1
    assert SyncRun.objects.count() == 1
    assert list(WebhookDelivery.objects.order_by("delivery_id").values_list(
        "delivery_id", "outcome", "run_id")) == [("d-1", "queued", queued.json()["run_id"]),
                                                  ("d-2", "queued", queued.json()["run_id"])]
