"""Auto-sync end to end: webhook → worker → import; git push → worker → export; polling; pause."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from repos import storage
from sync import auto, executor, run_services
from sync.models import SyncConfig, SyncRun
from tests.fakes.github import FakeGitHub
from tests.support.gitcli import authed_url, git
from tests.sync.engine.worktree import bare_tree
from tests.sync.test_provider_webhook_intake import deliver, payload

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_finished(run_id: str, seconds: float = 600) -> SyncRun:
    deadline = time.monotonic() + seconds
    while True:
        run = SyncRun.objects.get(pk=run_id)
        if run.finished:
            return run
        assert time.monotonic() < deadline, f"run {run_id} still {run.status}"
        time.sleep(0.05)


def test_webhook_import_by_a_real_worker_then_git_clone_shows_it(
        api, repo, client, live_server, live_worker, tmp_path, org, master_key):
    gh = FakeGitHub(tmp_path / "gh")
    gh.add_token("ghp_e2e")
    gh.create_repo("Codertocat/Hello-World", empty=True, default_branch="master")
    gh.commit("Codertocat/Hello-World", {"README.md": b"# Hello\n", "bin/run": (0o100755, b"#!")},
              "first", branch="master")
    with gh.mock():
        conn = api.post("/v1/connections", {"provider": "github", "label": "GH",
                        "access_token": "ghp_e2e"}, format="json").json()["id"]
        api.post("/v1/repos/app/sync/config", {"connection_id": conn, "branch": "master",
                 "remote": "Codertocat/Hello-World", "auto_sync": True}, format="json")
        config = SyncConfig.objects.get()
        resp = deliver(client, config, payload("github/push.with-new-branch.payload.json"))
        assert resp.status_code == 202
        run = _wait_finished(resp.json()["run_id"])
    assert run.status == "success", run.message
    assert run.trigger == "webhook" and run.files_changed == 2
    url = authed_url(live_server.url, master_key, f"{org.slug}/app.git")
    git("clone", "-b", "master", url, "clone", cwd=tmp_path, home=tmp_path)
    assert (tmp_path / "clone" / "README.md").read_text() == "# Hello\n"
    tree = git("rev-parse", "HEAD^{tree}", cwd=tmp_path / "clone", home=tmp_path)
    assert tree.stdout.decode().strip() == gh.tree_sha("Codertocat/Hello-World", "master")


def test_git_push_through_the_server_exports_the_pushed_tree(
        api, repo, git_remote, git_config, live_server, live_worker, tmp_path, org, master_key):
    api.patch("/v1/repos/app/sync/config", {"direction": "export", "auto_sync": True},
              format="json")
    url = authed_url(live_server.url, master_key, f"{org.slug}/app.git")
    git("clone", url, "mine", cwd=tmp_path, home=tmp_path)
    work = tmp_path / "mine"
    (work / "notes.txt").write_text("pushed\n")
    git("add", ".", cwd=work, home=tmp_path)
    git("commit", "-m", "pushed", cwd=work, home=tmp_path)
    git("push", "origin", "main", cwd=work, home=tmp_path)
    git("push", "origin", "main:side", cwd=work, home=tmp_path)  # other branches: no export
    runs = list(SyncRun.objects.all())
    assert [(r.trigger, r.branch) for r in runs] == [("push", "main")]
    run = _wait_finished(runs[0].id)
    assert run.status == "success", run.message
    pushed_tree = git("rev-parse", "HEAD^{tree}", cwd=work, home=tmp_path).stdout.decode().strip()
    assert bare_tree(git_remote.path, git_remote.home) == pushed_tree


def test_a_burst_of_pushes_coalesces_and_exports_the_last_tree(api, repo, git_remote,
                                                               git_config, live_worker):
    SyncConfig.objects.update(direction="export", auto_sync=True)
    trees = []
    with storage.open_repo(repo.disk_path) as r:
        head = None
        for i in range(4):
            blob = storage.write_blob(r, f"v{i}\n".encode())
            from dulwich.objects import Tree

            tree = Tree()
            tree.add(b"file.txt", 0o100644, blob)
            r.object_store.add_object(tree)
            new = storage.write_commit(r, tree=tree.id, parents=[head] if head else [],
                                       message=f"v{i}\n")
            storage.cas_ref(r, b"refs/heads/main", head, new)
            head = new
            trees.append(tree.id.decode())
            auto.sync_export_after_push(repository=repo, ref="refs/heads/main",
                                        new_sha=new.decode())
            assert SyncRun.objects.filter(status="queued").count() <= 1
    runs = list(SyncRun.objects.all())
    assert runs  # each push found at most one queued export to join (asserted above)
    for run in runs:
        assert _wait_finished(run.id).status in ("success", "skipped")
    assert bare_tree(git_remote.path, git_remote.home) == trees[-1]


def test_polling_enqueues_when_no_run_happened_in_the_interval(api, repo, git_config):
    assert api.patch("/v1/repos/app/sync/config", {"poll_interval_minutes": 4},
                     format="json").status_code == 400
    api.patch("/v1/repos/app/sync/config", {"poll_interval_minutes": 5}, format="json")
    assert auto.sync_poll_due() == 1
    assert SyncRun.objects.get().trigger == "schedule"
    assert auto.sync_poll_due() == 0  # a run happened within the interval
    SyncRun.objects.update(created_at=timezone.now() - timedelta(minutes=6), status="success")
    assert auto.sync_poll_due() == 1


def test_ten_failed_automatic_runs_pause_auto_sync_until_resumed(api, repo, git_config,
                                                                 monkeypatch):
    from core.errors import ProviderAuthError

    monkeypatch.setattr(executor, "execute", lambda *a: (_ for _ in ()).throw(
        ProviderAuthError("git remote refused the credentials", status=401)))
    # This test executes the runs itself: publish nothing, or the live worker races it.
    monkeypatch.setattr(run_services, "enqueue", lambda run: None)
    config = SyncConfig.objects.get()
    SyncConfig.objects.update(poll_interval_minutes=5)
    for _ in range(10):
        run = run_services.sync_run_request(config=config, trigger="schedule")
        run_services.sync_run_execute(run_id=run.id)
    body = api.get("/v1/repos/app/sync/config").json()["config"]
    assert body["auto_sync_paused"] is True and "refused" in body["last_error"]
    SyncRun.objects.update(created_at=timezone.now() - timedelta(hours=1))
    assert auto.sync_poll_due() == 0  # paused: automatic triggers stop
    api.patch("/v1/repos/app/sync/config", {"poll_interval_minutes": 10}, format="json")
    assert api.get("/v1/repos/app/sync/config").json()["config"]["auto_sync_paused"] is False
    assert auto.sync_poll_due() == 1


def test_a_successful_manual_trigger_resumes_paused_auto_sync(api, repo, git_config, monkeypatch):
    from sync.engine.types import SyncResult

    SyncConfig.objects.update(auto_sync_paused=True, consecutive_failures=10,
                              last_error="boom")
    monkeypatch.setattr(executor, "execute", lambda *a: SyncResult("skipped", "a" * 40, "b" * 40))
    monkeypatch.setattr(run_services, "enqueue", lambda run: None)  # executed here, not by a worker
    run = run_services.sync_run_request(config=SyncConfig.objects.get(), trigger="api")
    run_services.sync_run_execute(run_id=run.id)
    config = SyncConfig.objects.get()
    assert (config.auto_sync_paused, config.consecutive_failures, config.last_error) == (
        False, 0, None)
