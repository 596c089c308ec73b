"""Issue 8 point 5: in mirror mode, GitHub and GitLab webhooks for branch creation, branch
deletion and tag pushes of any matching ref each queue the mirror import, and a burst of them
coalesces into one queued run. No worker here: the queued run stays queued, so the coalescing
is what is seen."""

import json

import pytest

from sync.models import SyncConfig, SyncRun, WebhookDelivery
from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import FakeGitLab
from tests.sync.test_provider_webhook_intake import deliver, gl_deliver, payload

MIRROR = {"mode": "mirror", "branches": ["main", "release/*"], "tags": True, "auto_sync": True,
          "prune": True}
ZERO, SHA, OLD = "0" * 40, "1" * 40, "2" * 40


def _body(name: str, **fields) -> bytes:
    return json.dumps({**json.loads(payload(name)), **fields}).encode()


def _config(api, provider: str, token: str, remote: str) -> SyncConfig:
    conn = api.post("/v1/connections", {"provider": provider, "label": provider,
                    "access_token": token}, format="json").json()["id"]
    made = api.post("/v1/repos/app/sync/config", {"connection_id": conn, "remote": remote,
                    **MIRROR}, format="json")
    assert made.status_code == 201, made.json()
    return SyncConfig.objects.get()


def _one_run_for_all(config: SyncConfig, answers: list) -> None:
    for answer in answers:
        assert answer.status_code == 202 and answer.json()["status"] == "queued", answer.json()
    run = SyncRun.objects.get()  # coalesced: every delivery joined the same queued run
    assert (run.status, run.trigger, run.direction) == ("queued", "webhook", "import")
    queued = WebhookDelivery.objects.filter(config=config, outcome="queued")
    assert sorted(queued.values_list("run_id", flat=True)) == [run.id] * len(answers)


@pytest.mark.django_db
def test_github_branch_create_delete_and_tag_push_queue_one_mirror_import(
        api, repo, client, tmp_path):
    gh = FakeGitHub(tmp_path)
    gh.add_token("ghp_refs")
    gh.create_repo("octo/src", empty=False)
    with gh.mock():
        config = _config(api, "github", "ghp_refs", "octo/src")
    name = "github/push.payload.json"
    other = deliver(client, config, _body(name, ref="refs/heads/feature/x", before=ZERO,
                                          after=SHA, created=True, deleted=False),
                    delivery="d-0")
    assert other.status_code == 200 and other.json()["status"] == "ignored:other_ref"
    _one_run_for_all(config, [
        deliver(client, config, _body(name, ref="refs/heads/release/3", before=ZERO, after=SHA,
                                      created=True, deleted=False), delivery="d-1"),
        deliver(client, config, _body(name, ref="refs/heads/release/1", before=OLD, after=ZERO,
                                      created=False, deleted=True), delivery="d-2"),
        deliver(client, config, _body(name, ref="refs/tags/v9", before=ZERO, after=SHA,
                                      created=True, deleted=False), delivery="d-3"),
    ])


@pytest.mark.django_db
def test_gitlab_branch_create_delete_and_tag_push_queue_one_mirror_import(
        api, repo, client, tmp_path):
    gl = FakeGitLab(tmp_path)
    gl.add_token("glpat-refs", username="tanuki")
    gl.create_project("grp/src", empty=False)
    with gl.mock():
        config = _config(api, "gitlab", "glpat-refs", "grp/src")
    token = config.get_secret("webhook_secret_ciphertext")

    def hook(key: str, event: str, **fields):
        return gl_deliver(client, config, {"HTTP_X_GITLAB_TOKEN": token,
                                           "HTTP_X_GITLAB_EVENT": event,
                                           "HTTP_IDEMPOTENCY_KEY": key},
                          _body("gitlab/push.json", **fields))

    other = hook("k0", "Push Hook", ref="refs/heads/feature/x", before=ZERO, after=SHA,
                 checkout_sha=SHA)
    assert other.status_code == 200 and other.json()["status"] == "ignored:other_ref"
    _one_run_for_all(config, [
        hook("k1", "Push Hook", ref="refs/heads/release/3", before=ZERO, after=SHA,
             checkout_sha=SHA),
        hook("k2", "Push Hook", ref="refs/heads/release/1", before=OLD, after=ZERO,
             checkout_sha=None),
        hook("k3", "Tag Push Hook", ref="refs/tags/v9", before=ZERO, after=SHA,
             checkout_sha=SHA),
    ])
