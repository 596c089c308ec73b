"""The task's retry countdown honours the provider's rate-limit reset (no sleeping anywhere)."""

import time

import pytest
from celery.exceptions import Retry

from repos import storage
from sync.models import SyncConfig, SyncRun
from sync.run_services import sync_run_request
from tests.fakes.github import FakeGitHub
from workers.tasks import sync_run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def export_config(api, tmp_path):
    gh = FakeGitHub(tmp_path / "gh")
    gh.add_token("ghp_retry")
    gh.create_repo("octo/limits", empty=False)
    with gh.mock():
        api.post("/v1/repos", {"slug": "app"}, format="json")
        conn = api.post("/v1/connections", {"provider": "github", "label": "GH",
                        "access_token": "ghp_retry"}, format="json").json()["id"]
        api.post("/v1/repos/app/sync/config", {"connection_id": conn, "remote": "octo/limits",
                 "direction": "export", "overwrite_diverged": True}, format="json")
        yield gh, SyncConfig.objects.get()


def _local_commit(config):
    with storage.open_repo(config.repository.disk_path) as r:
        from dulwich.objects import Tree

        tree = Tree()
        tree.add(b"a.txt", 0o100644, storage.write_blob(r, b"local\n"))
        r.object_store.add_object(tree)
        sha = storage.write_commit(r, tree=tree.id, parents=[], message="local\n")
        storage.cas_ref(r, b"refs/heads/main", None, sha)


@pytest.mark.parametrize("kind", ["primary", "secondary"])
def test_rate_limited_export_is_retried_with_the_providers_countdown(export_config, monkeypatch,
                                                                     kind):
    gh, config = export_config
    _local_commit(config)
    if kind == "primary":
        gh.rate_limit(remaining=0, reset=int(time.time()) + 900, times=100)
        at_least = 890
    else:
        gh.secondary_limit(retry_after=300, times=100)
        at_least = 300
    monkeypatch.setattr(sync_run, "delay", lambda run_id: None)  # the test drives the task
    run = sync_run_request(config=config, trigger="api")
    asked = {}

    def retry(**kwargs):
        asked.update(kwargs)
        return Retry("retry", when=kwargs.get("countdown"))

    monkeypatch.setattr(sync_run, "retry", retry)
    with pytest.raises(Retry):
        sync_run.run(run.id)
    assert asked["countdown"] >= at_least
    run.refresh_from_db()
    assert run.status == "queued" and run.message.startswith("Retrying in")
    assert SyncRun.objects.get(pk=run.pk).attempts == 1


def test_permanent_error_is_not_retried(export_config, monkeypatch):
    gh, config = export_config
    _local_commit(config)
    gh.tokens.clear()  # the token was revoked: 401
    monkeypatch.setattr(sync_run, "delay", lambda run_id: None)
    run = sync_run_request(config=config, trigger="api")
    monkeypatch.setattr(sync_run, "retry", lambda **kw: pytest.fail("retried a 401"))
    sync_run.run(run.id)
    run.refresh_from_db()
    assert (run.status, run.error_code) == ("error", "provider.auth")
    assert "Bad credentials" in run.message


def test_a_run_waiting_behind_a_live_run_backs_off_more_each_time(export_config, monkeypatch):
    from django.utils import timezone

    gh, config = export_config
    monkeypatch.setattr(sync_run, "delay", lambda run_id: None)  # the test drives the task
    live = sync_run_request(config=config, trigger="api")
    SyncRun.objects.filter(pk=live.pk).update(status="running", heartbeat_at=timezone.now())
    waiting = sync_run_request(config=config, trigger="api", force=True)
    asked = []
    monkeypatch.setattr(sync_run, "retry",
                        lambda **kw: asked.append(kw["countdown"]) or Retry("retry"))
    for retries in (0, 8, 50):
        sync_run.push_request(retries=retries, hostname="w1")
        try:
            with pytest.raises(Retry):
                sync_run.run(waiting.id)
        finally:
            sync_run.pop_request()
    assert asked[0] <= 1 < asked[1] and asked[2] <= 30  # not a fixed 1-3 s: grows, then capped
    assert SyncRun.objects.get(pk=waiting.pk).status == "queued"
