"""Generic git configs: a webhook_url and a secret shown once, and webhook intake for Gitea, Forgejo,
Bitbucket Cloud and GitLab signing tokens (real payload shapes from tests/data)."""

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from accounts.services import org_create
from sync.models import SyncConfig, SyncRun, WebhookDelivery
from tests.support.paths import REFERENCE, ROOT

DATA = ROOT / "tests" / "data" / "generic_webhooks"
A, B, C = "a" * 40, "b" * 40, "c" * 40


def _json(path) -> dict:
    return json.loads(path.read_text())


def gitea_body(ref="refs/heads/main", before=A, after=B) -> bytes:
    return json.dumps({**_json(DATA / "gitea-push.json"), "ref": ref, "before": before,
                       "after": after}).encode()


def bitbucket_body(name="main", before=A, after=B, kind="branch") -> bytes:
    payload = _json(DATA / "bitbucket-repo-push.json")
    change = payload["push"]["changes"][0]
    for side, sha in (("old", before), ("new", after)):
        if sha is None:
            change[side] = None
        else:
            change[side].update(type=kind, name=name)
            change[side]["target"]["hash"] = sha
    return json.dumps(payload).encode()


def gitlab_body(before=A, after=B) -> bytes:
    payload = _json(REFERENCE / "webhooks" / "gitlab" / "push.json")
    payload.update(ref="refs/heads/main", before=before, after=after, checkout_sha=after)
    return json.dumps(payload).encode()


def _hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def gitea_headers(secret, body, delivery="7c2e1f3a-0001", forgejo=False):
    name = "FORGEJO" if forgejo else "GITEA"
    return {f"HTTP_X_{name}_EVENT": "push", f"HTTP_X_{name}_DELIVERY": delivery,
            f"HTTP_X_{name}_SIGNATURE": _hex(secret, body)}


def bitbucket_headers(secret, body, delivery="{4b9e7d4c-0002}"):
    return {"HTTP_X_EVENT_KEY": "repo:push", "HTTP_X_REQUEST_UUID": delivery,
            "HTTP_X_HOOK_UUID": "{d2b5b6a3-hook}", "HTTP_X_ATTEMPT_NUMBER": "1",
            "HTTP_X_HUB_SIGNATURE": f"sha256={_hex(secret, body)}"}


def gitlab_headers(secret, body, delivery="msg_2f1d-0003", at=None):
    at = at or datetime.now(UTC)
    return {"HTTP_X_GITLAB_EVENT": "Push Hook", "HTTP_WEBHOOK_ID": delivery,
            "HTTP_WEBHOOK_TIMESTAMP": str(int(at.timestamp())),
            "HTTP_WEBHOOK_SIGNATURE": Webhook(secret).sign(delivery, at, body.decode())}


@pytest.fixture
def generic(api, git_config):
    patched = api.patch("/v1/repos/app/sync/config", {"auto_sync": True}, format="json")
    assert patched.status_code == 200, patched.json()
    made = api.post("/v1/repos/app/sync/config/webhook-secret")
    assert made.status_code == 201, made.json()
    return {**made.json(), "id": git_config["id"]}


def post(client, generic, body, headers):
    path = generic["webhook_url"].split("127.0.0.1:8000", 1)[-1]
    return client.post(path, data=body, content_type="application/json", **headers)


def _runs():
    return list(SyncRun.objects.filter(trigger="webhook"))


@pytest.mark.django_db
def test_the_config_shows_its_webhook_url_and_the_secret_once(api, generic, caplog):
    secret = generic["webhook_secret"]
    assert secret.startswith("whsec_") and base64.b64decode(secret[6:])
    assert generic["webhook_url"].endswith(f"/v1/sync-webhooks/git/{generic['id']}")
    shown = api.get("/v1/repos/app/sync/config")
    assert shown.json()["config"]["webhook_url"] == generic["webhook_url"]
    assert secret not in shown.content.decode() and secret not in caplog.text
    config = SyncConfig.objects.get()
    assert secret not in config.webhook_secret_ciphertext
    assert config.get_secret("webhook_secret_ciphertext") == secret
    # A PATCH keeps it (it is not a provider hook's secret to drop).
    api.patch("/v1/repos/app/sync/config", {"overwrite_diverged": True}, format="json")
    assert SyncConfig.objects.get().get_secret("webhook_secret_ciphertext") == secret


@pytest.mark.django_db
def test_the_secret_endpoint_is_master_only_and_org_scoped(api, generic, make_client, scoped_key):
    scoped = make_client(scoped_key({"repos:*": ["write"]}))
    assert scoped.post("/v1/repos/app/sync/config/webhook-secret").status_code == 403
    _, other_key = org_create(name="Other")
    assert make_client(other_key).post(
        "/v1/repos/app/sync/config/webhook-secret").status_code == 404


@pytest.mark.django_db
def test_rotating_the_secret_retires_the_old_one(api, client, generic):
    old = generic["webhook_secret"]
    new = api.post("/v1/repos/app/sync/config/webhook-secret").json()["webhook_secret"]
    assert new != old
    body = gitea_body()
    assert post(client, generic, body, gitea_headers(old, body)).status_code == 401
    assert post(client, generic, body, gitea_headers(new, body)).status_code == 202


@pytest.mark.django_db
@pytest.mark.parametrize("scheme", ["gitea", "forgejo", "bitbucket", "gitlab"])
def test_each_scheme_queues_an_import_once_per_delivery(client, generic, scheme):
    secret = generic["webhook_secret"]
    body, headers = {
        "gitea": lambda: (gitea_body(), gitea_headers(secret, gitea_body())),
        "forgejo": lambda: (gitea_body(), gitea_headers(secret, gitea_body(), forgejo=True)),
        "bitbucket": lambda: (bitbucket_body(), bitbucket_headers(secret, bitbucket_body())),
        "gitlab": lambda: (gitlab_body(), gitlab_headers(secret, gitlab_body())),
    }[scheme]()
    first = post(client, generic, body, headers)
    assert first.status_code == 202, first.json()
    assert first.json()["status"] == "queued" and [r.id for r in _runs()] == [first.json()[
        "run_id"]]
    again = post(client, generic, body, headers)  # the host retries the same delivery
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    assert len(_runs()) == 1
    [recorded] = WebhookDelivery.objects.all()
    assert recorded.provider == "git" and recorded.outcome == "queued"


@pytest.mark.django_db
def test_pushes_to_other_refs_and_deletions_are_ignored(client, generic):
    secret = generic["webhook_secret"]
    cases = [
        (gitea_body(ref="refs/heads/feature"), gitea_headers, "ignored:other_branch"),
        (gitea_body(ref="refs/tags/v1"), gitea_headers, "ignored:not_a_branch"),
        (gitea_body(after="0" * 40), gitea_headers, "ignored:branch_deleted"),
        (bitbucket_body(name="feature"), bitbucket_headers, "ignored:other_branch"),
        (bitbucket_body(name="v1", kind="tag"), bitbucket_headers, "ignored:not_a_branch"),
        (bitbucket_body(after=None), bitbucket_headers, "ignored:branch_deleted"),
    ]
    for n, (body, headers, outcome) in enumerate(cases):
        resp = post(client, generic, body, headers(secret, body, delivery=f"d-{n}"))
        assert resp.status_code == 200 and resp.json() == {"status": outcome}, (n, resp.json())
    assert _runs() == []


@pytest.mark.django_db
def test_bad_signatures_are_401(client, generic):
    secret, body = generic["webhook_secret"], gitea_body()
    wrong = "whsec_" + base64.b64encode(b"x" * 24).decode()
    old = datetime.now(UTC) - timedelta(minutes=30)
    cases = [
        {},  # unsigned
        gitea_headers(wrong, body),
        {**gitea_headers(secret, body), "HTTP_X_GITEA_SIGNATURE": _hex(secret, body + b" ")},
        {**gitea_headers(secret, body), "HTTP_X_GITEA_SIGNATURE": "é" * 64},
        gitea_headers(secret, body, forgejo=True) | {"HTTP_X_FORGEJO_SIGNATURE": "00" * 32},
        bitbucket_headers(wrong, body),
        {**bitbucket_headers(secret, body), "HTTP_X_HUB_SIGNATURE": _hex(secret, body)},
        gitlab_headers(wrong, body),
        gitlab_headers(secret, body, at=old),  # a captured delivery replayed later
        {**gitlab_headers(secret, body), "HTTP_WEBHOOK_SIGNATURE": "garbage"},
        {**gitlab_headers(secret, body), "HTTP_WEBHOOK_SIGNATURE": "v1,!!!notbase64"},
        {**gitlab_headers(secret, body), "HTTP_WEBHOOK_TIMESTAMP": "nan"},
        {**gitlab_headers(secret, body), "HTTP_WEBHOOK_TIMESTAMP": "9" * 40},
    ]
    for n, headers in enumerate(cases):
        resp = post(client, generic, body, headers)
        assert resp.status_code == 401, (n, resp.content)
        assert resp.json()["code"] == "webhook.bad_signature"
    non_utf8 = b"\xff\xfe{}"
    assert post(client, generic, non_utf8, gitlab_headers(secret, b"{}")).status_code == 401
    assert _runs() == [] and not WebhookDelivery.objects.exists()


@pytest.mark.django_db
def test_github_and_gitlab_configs_have_no_generic_receiver(client, generic):
    body = gitea_body()
    SyncConfig.objects.update(provider="github")
    resp = post(client, generic, body, gitea_headers(generic["webhook_secret"], body))
    assert resp.status_code == 401


@pytest.mark.django_db
def test_hostile_signed_input_is_4xx_never_500(client, generic):
    secret = generic["webhook_secret"]

    def bitbucket(payload):
        body = json.dumps(payload).encode()
        return body, bitbucket_headers(secret, body)

    bodies = [
        (b"not json", gitea_headers(secret, b"not json")),
        (b"[1, 2]", gitea_headers(secret, b"[1, 2]")),
        (b"[" * 5000 + b"]" * 5000, gitea_headers(secret, b"[" * 5000 + b"]" * 5000)),
        bitbucket({"push": None}),
        bitbucket({"push": {"changes": "main"}}),
        bitbucket({"push": {"changes": [None]}}),
        bitbucket({"push": {"changes": [{"new": "main"}]}}),
        bitbucket({"push": {"changes": [{"new": {"type": "branch", "name": 7,
                                                 "target": {"hash": B}}}]}}),
        bitbucket({"push": {"changes": [{"new": {"type": "branch", "name": "main",
                                                 "target": {"hash": "not-a-sha"}}}]}}),
        bitbucket({"push": {"changes": [{}] * 1001}}),
        (gitea_body(after="z" * 40), gitea_headers(secret, gitea_body(after="z" * 40))),
        (json.dumps({"ref": ["x"]}).encode(), gitea_headers(secret, b'{"ref": ["x"]}')),
    ]
    for n, (body, headers) in enumerate(bodies):
        resp = post(client, generic, body, {**headers, "HTTP_X_GITEA_DELIVERY": f"h-{n}",
                                            "HTTP_X_REQUEST_UUID": f"h-{n}"})
        assert 400 <= resp.status_code < 500, (n, resp.status_code, resp.content)
    body = gitea_body()
    for delivery in ("", "x" * 500, "bad id"):
        resp = post(client, generic, body, gitea_headers(secret, body, delivery=delivery))
        assert resp.status_code == 400 and resp.json()["code"] == "webhook.bad_id"
    assert _runs() == []


@pytest.mark.django_db(transaction=True)
def test_a_gitea_push_imports_the_pushed_commit(client, repo, git_remote, generic, live_worker):
    from repos import storage

    git_remote.work.write("hello.txt", "from gitea\n")
    sha = git_remote.work.commit("pushed on the host")
    git_remote.work.push()
    body = gitea_body(before="0" * 40, after=sha)
    queued = post(client, generic, body, gitea_headers(generic["webhook_secret"], body))
    assert queued.status_code == 202, queued.json()
    deadline = time.monotonic() + 120
    run = SyncRun.objects.get(id=queued.json()["run_id"])
    while not run.finished and time.monotonic() < deadline:
        time.sleep(0.1)
        run.refresh_from_db()
    assert run.status == "success", run.message
    assert run.remote_sha == sha
    with storage.open_repo(repo.disk_path) as r:
        assert storage.read_ref(r, b"refs/heads/main") is not None
