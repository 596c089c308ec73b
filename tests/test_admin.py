"""Operators' admin: every model's pages load and no secret column is ever shown."""

import pytest
import responses
from django.contrib.auth.models import User

from accounts.models import ApiKey
from repos.models import Repository
from sync.models import SyncConfig, SyncRun
from tests.support.admin_urls import admin_change_url
from tests.support.git_http_backend import serve_git


@pytest.fixture
def operator(client, db):
    User.objects.create_superuser("op", "op@example.com", "pw")
    client.login(username="op", password="pw")
    return client


def test_every_admin_page_loads_without_secrets(operator, api, master_key):
    api.post("/v1/repos", {"slug": "app"}, format="json")
    repo_id = api.get("/v1/repos").json()["repos"][0]["id"]
    api.post("/v1/repos/git-credentials", {"repo_id": repo_id, "password": "pw-SECRET-1"},
             format="json")
    with responses.RequestsMock() as mock:
        mock.add("GET", "https://api.github.com/user", json={"login": "octocat"})
        api.post("/v1/connections", {"provider": "github", "label": "GH",
                 "access_token": "ghp_SECRET-2"}, format="json")
    api.post("/v1/repos/app/sync/config", {"remote": "https://git.example.com/x.git"},
             format="json")
    key = ApiKey.objects.get()
    pages = ["accounts/organization", "accounts/apikey", "repos/repository",
             "connections/connection", "connections/gitcredential", "sync/syncconfig",
             "sync/syncrun", "sync/webhookdelivery"]
    seen = []
    for page in pages:
        resp = operator.get(f"/admin/{page}/")
        assert resp.status_code == 200, page
        seen.append(resp.content.decode())
    detail = operator.get(admin_change_url(key))
    assert key.prefix in detail.content.decode() and key.key_hash in detail.content.decode()
    seen.append(detail.content.decode())
    for secret in (master_key, "pw-SECRET-1", "ghp_SECRET-2", "v1."):
        assert not any(secret in page for page in seen), secret


def test_sync_now_action_queues_a_run(operator, api, tmp_path):
    api.post("/v1/repos", {"slug": "app"}, format="json")
    with serve_git(tmp_path / "served") as server:  # the config's remote is checked on create
        server.create_repo("x.git")
        made = api.post("/v1/repos/app/sync/config", {"remote": server.url("x.git")},
                        format="json")
    assert made.status_code == 201, made.json()
    config = SyncConfig.objects.get()
    resp = operator.post("/admin/sync/syncconfig/", {"action": "sync_now",
                                                     "_selected_action": [config.pk]})
    assert resp.status_code == 302
    run = SyncRun.objects.get()
    assert (run.status, run.trigger, run.config_id) == ("queued", "api", config.pk)


def test_sync_now_shows_a_failure_and_resume_clears_a_pause(operator, api, tmp_path):
    api.post("/v1/repos", {"slug": "app"}, format="json")
    with serve_git(tmp_path / "served") as server:
        server.create_repo("x.git")
        made = api.post("/v1/repos/app/sync/config", {"remote": server.url("x.git")},
                        format="json")
    assert made.status_code == 201, made.json()
    SyncConfig.objects.update(branch="bad..name", auto_sync=True, auto_sync_paused=True,
                              consecutive_failures=10)
    config = SyncConfig.objects.get()
    listing = operator.get("/admin/sync/syncconfig/").content.decode()
    assert 'class="coregit-badge coregit-paused"' in listing
    resp = operator.post("/admin/sync/syncconfig/", {"action": "sync_now",
                                                     "_selected_action": [config.pk]},
                         follow=True)
    [message] = list(resp.context["messages"])
    assert message.level_tag == "error" and "branch" in message.message
    assert not SyncRun.objects.exists()
    resp = operator.post("/admin/sync/syncconfig/", {"action": "resume_auto_sync",
                                                     "_selected_action": [config.pk]},
                         follow=True)
    [message] = list(resp.context["messages"])
    assert message.level_tag == "success" and message.message.endswith("auto-sync resumed")
    config.refresh_from_db()
    assert (config.auto_sync_paused, config.consecutive_failures) == (False, 0)
    assert "coregit-paused" not in resp.content.decode()


def test_runs_show_progress_and_runs_and_deliveries_are_read_only(operator, api, master_key):
    from events.models import EventDelivery, EventHook

    api.post("/v1/repos", {"slug": "app"}, format="json")
    repo = Repository.objects.get()
    run = SyncRun.objects.create(
        org=repo.org, repository=repo, direction="import", branch="main", status="running",
        progress={"phase": "fetching", "phases": ["resolving", "fetching"],
                  "bytes_received": 123456, "objects_received": 7, "objects_total": 9})
    listing = operator.get("/admin/sync/syncrun/?status__exact=running").content.decode()
    assert run.id in listing and "fetching: " in listing  # the phase, then the counts
    for figure in ("bytes_received 123456", "objects_received 7", "objects_total 9"):
        assert figure in listing, figure
    assert operator.post(admin_change_url(run),
                         {"status": "success"}).status_code == 403
    run.refresh_from_db()
    assert run.status == "running"

    hook_id = api.post("/v1/event-hooks", {"url": "https://hooks.example.com/x",
                                           "events": ["sync.run.failed"]},
                       format="json").json()["id"]
    delivery = EventDelivery.objects.create(
        hook=EventHook.objects.get(id=hook_id), event_type="sync.run.failed",
        message_id="msg_1", payload={}, status="failed", attempt=3, response_code=500)
    assert operator.get("/admin/events/eventdelivery/add/").status_code == 403
    assert operator.post(admin_change_url(delivery),
                         {"status": "succeeded"}).status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert operator.get("/admin/sync/webhookdelivery/add/").status_code == 403


def test_an_id_that_reads_like_an_admin_escape_still_opens(operator, api):
    """`run_26…` holds `_26`, which the admin decodes as '&' unless the link was quoted."""
    api.post("/v1/repos", {"slug": "esc"}, format="json")
    repo = Repository.objects.get(slug="esc")
    run = SyncRun.objects.create(id="run_2640aabbccddeeff", org=repo.org, repository=repo,
                                 direction="import", branch="main", status="success")
    assert operator.get(f"/admin/sync/syncrun/{run.pk}/change/").status_code == 302  # mangled
    page = operator.get(admin_change_url(run))
    assert page.status_code == 200 and run.id in page.content.decode()
