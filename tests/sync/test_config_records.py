"""Consistent records: history agrees with trigger answers, a reset resets everything, a deleted
config's runs stay readable, and git credentials answer the SPEC's status codes."""

import pytest
from django.utils import timezone

from sync import run_services
from sync.models import SyncConfig, SyncRun, SyncState

pytestmark = pytest.mark.django_db(transaction=True)


def _trigger(api, config):
    return api.post("/v1/repos/app/sync", {"sync_id": config["id"]}, format="json")


def test_a_skipped_run_shows_no_commit_in_history(api, repo, git_remote, git_config,
                                                  live_worker):
    git_remote.work.write("a.txt", "a\n")
    git_remote.work.commit("first")
    git_remote.work.push()
    first = _trigger(api, git_config)
    assert first.status_code == 200, first.json()
    again = _trigger(api, git_config)
    assert again.json()["synced"] is False and again.json()["commit_sha"] is None
    runs = api.get("/v1/repos/app/sync/history").json()["runs"]
    assert [r["status"] for r in runs] == ["skipped", "success"]
    assert runs[0]["commit_sha"] is None  # as its trigger answered
    assert runs[1]["commit_sha"] == first.json()["commit_sha"]


@pytest.mark.parametrize("change", [{"branch": "develop"}, {"remote": "other.git"}])
def test_changing_what_is_followed_resets_last_synced_at_too(api, repo, git_remote, git_config,
                                                            change):
    if "remote" in change:
        git_remote.server.create_repo("other.git")
        change = {"remote": git_remote.server.url("other.git")}
    config = SyncConfig.objects.get()
    SyncState.objects.create(config=config, branch=config.branch, last_remote_sha="a" * 40)
    SyncConfig.objects.update(last_synced_at=timezone.now())
    before = api.get("/v1/repos/app/sync/config").json()["config"]
    assert before["last_synced_at"] and before["last_synced_sha"]
    assert api.patch("/v1/repos/app/sync/config", change, format="json").status_code == 200
    after = api.get("/v1/repos/app/sync/config").json()["config"]
    assert (after["last_synced_at"], after["last_synced_sha"]) == (None, None)


def test_deleting_a_config_keeps_its_runs_in_the_repository_history(api, repo, git_config):
    config = SyncConfig.objects.get()
    # Rows only, no task message: a live worker of another test must not pick these up.
    fields = {"org_id": config.org_id, "config": config, "repository": repo, "branch": "main",
              "direction": "import"}
    done = SyncRun.objects.create(**fields, status="success", completed_at=timezone.now())
    queued = SyncRun.objects.create(**fields)
    assert api.delete("/v1/repos/app/sync/config").json() == {"deleted": True}
    runs = api.get("/v1/repos/app/sync/history").json()["runs"]
    assert [r["id"] for r in runs] == [queued.id, done.id]
    assert runs[0]["status"] == "error" and "deleted" in runs[0]["message"]
    assert runs[1]["status"] == "success"
    # A worker that picks the cancelled run up later does nothing with it.
    assert run_services.sync_run_execute(run_id=queued.id) is None


@pytest.mark.parametrize("scopes,status", [({"repos:*": ["read"]}, 403),
                                           ({"repos:acme/other": ["read", "write"]}, 404)])
def test_git_credentials_answer_403_to_a_read_only_key(api, repo, scoped_key, make_client,
                                                       scopes, status):
    made = api.post("/v1/repos/git-credentials", {"repo_id": repo.id, "password": "pw"},
                    format="json")
    cred = made.json()["id"]
    client = make_client(scoped_key(scopes))
    assert client.post("/v1/repos/git-credentials", {"repo_id": repo.id, "password": "x"},
                       format="json").status_code == status
    assert client.put("/v1/repos/git-credentials", {"id": cred, "password": "x"},
                      format="json").status_code == status
    assert client.delete("/v1/repos/git-credentials", {"id": cred},
                         format="json").status_code == status
    assert api.delete("/v1/repos/git-credentials", {"id": cred}, format="json").status_code == 204


def test_a_config_deleted_with_its_connection_ends_its_unfinished_runs(api, repo, tmp_path):
    from tests.fakes.github import FakeGitHub

    gh = FakeGitHub(tmp_path)
    gh.add_token("ghp_x")
    gh.create_repo("o/r", empty=False)
    with gh.mock():
        conn = api.post("/v1/connections", {"provider": "github", "label": "GH",
                        "access_token": "ghp_x"}, format="json").json()["id"]
        api.post("/v1/repos/app/sync/config", {"connection_id": conn, "remote": "o/r"},
                 format="json")
        config = SyncConfig.objects.get()
        run = SyncRun.objects.create(org_id=config.org_id, config=config, repository=repo,
                                     branch="main", direction="import")
        assert api.delete(f"/v1/connections/{conn}").status_code == 200
    run.refresh_from_db()
    assert (run.config_id, run.status, run.error_code) == (None, "error", "sync.config_deleted")
    assert [r["id"] for r in api.get("/v1/repos/app/sync/history").json()["runs"]] == [run.id]
