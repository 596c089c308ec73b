"""User errors about the remote are 422 with the provider's reason; 502 stays for a provider that
failed or could not be reached. Configs are checked against the remote as connections are."""

import socket

import pytest
import requests

from repos import storage
from sync.models import SyncConfig, SyncRun
from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import FakeGitLab
from tests.sync.conftest import PASSWORD, USER

CONFIG = "/v1/repos/app/sync/config"


@pytest.fixture
def gh(tmp_path):
    fake = FakeGitHub(tmp_path)
    fake.add_token("ghp_rw")
    fake.add_token("ghp_ro", login="reader", push=False)
    fake.create_repo("octocat/exists", empty=False)
    fake.create_repo("octocat/empty", empty=True)
    with fake.mock():
        yield fake


def _conn(api, provider, token):
    made = api.post("/v1/connections", {"provider": provider, "label": token,
                    "access_token": token}, format="json")
    assert made.status_code == 201, made.json()
    return made.json()["id"]


@pytest.mark.parametrize("token,body,status,code,words", [
    ("ghp_rw", {"remote": "octocat/missing"}, 422, "provider.remote_not_found", "no repository"),
    ("ghp_rw", {"remote": "octocat/exists", "branch": "nope"}, 422, "provider.ref_not_found",
     "no branch 'nope'"),
    ("ghp_ro", {"remote": "octocat/exists", "direction": "export"}, 422,
     "provider.access_denied", "cannot push"),
])
def test_github_config_refused_for_what_the_user_can_fix(api, repo, gh, token, body, status,
                                                        code, words):
    resp = api.post(CONFIG, {"connection_id": _conn(api, "github", token), **body},
                    format="json")
    assert resp.status_code == status, resp.json()
    assert resp.json()["code"] == code and words in resp.json()["error"]
    assert not SyncConfig.objects.exists()


def test_github_config_accepted_when_the_remote_fits(api, repo, gh):
    ro, rw = _conn(api, "github", "ghp_ro"), _conn(api, "github", "ghp_rw")
    # Reading is enough for an import; an empty remote may not have the branch yet.
    assert api.post(CONFIG, {"connection_id": ro, "remote": "octocat/exists"},
                    format="json").status_code == 201
    api.delete(CONFIG)
    assert api.post(CONFIG, {"connection_id": rw, "remote": "octocat/empty", "branch": "dev"},
                    format="json").status_code == 201
    # PATCHing to something that does not fit is refused and changes nothing.
    resp = api.patch(CONFIG, {"remote": "octocat/missing"}, format="json")
    assert resp.status_code == 422 and resp.json()["code"] == "provider.remote_not_found"
    assert SyncConfig.objects.get().remote == "octocat/empty"


@pytest.mark.parametrize("failure", [{"status": 503},
                                     {"status": 502, "body": requests.ConnectionError("down")}])
def test_a_provider_that_fails_is_still_502(api, repo, gh, failure):
    conn = _conn(api, "github", "ghp_rw")
    gh.fail_next(endpoint="GET /repos/{owner}/{repo}", **failure)
    resp = api.post(CONFIG, {"connection_id": conn, "remote": "octocat/exists"}, format="json")
    assert resp.status_code == 502 and not SyncConfig.objects.exists()


def test_gitlab_access_levels(api, repo, tmp_path):
    gl = FakeGitLab(tmp_path)
    gl.add_token("glpat-reporter", username="rep", access_level=20)
    gl.add_token("glpat-dev", username="dev", access_level=30)
    gl.create_project("grp/proj", empty=False)
    with gl.mock():
        reporter, dev = _conn(api, "gitlab", "glpat-reporter"), _conn(api, "gitlab", "glpat-dev")
        refused = api.post(CONFIG, {"connection_id": reporter, "remote": "grp/proj",
                           "direction": "export"}, format="json")
        assert refused.status_code == 422 and refused.json()["code"] == "provider.access_denied"
        missing = api.post(CONFIG, {"connection_id": dev, "remote": "grp/nothing"},
                           format="json")
        assert missing.status_code == 422
        assert missing.json()["code"] == "provider.remote_not_found"
        assert api.post(CONFIG, {"connection_id": dev, "remote": "grp/proj",
                        "direction": "export"}, format="json").status_code == 201


# --- generic git over smart HTTP (a real git http-backend) --------------------------------------
def _credential(api, repo, password=PASSWORD):
    made = api.post("/v1/repos/git-credentials", {"repo_id": repo.id, "username": USER,
                    "password": password}, format="json")
    assert made.status_code == 201


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_generic_git_checks(api, repo, git_remote):
    git_remote.work.write("a.txt", "a\n")
    git_remote.work.commit("first")
    git_remote.work.push()
    no_cred = api.post(CONFIG, {"remote": git_remote.url}, format="json")
    assert no_cred.status_code == 422 and no_cred.json()["code"] == "provider.access_denied"
    _credential(api, repo)
    missing = api.post(CONFIG, {"remote": git_remote.server.url("nothing.git")}, format="json")
    assert missing.status_code == 422
    branch = api.post(CONFIG, {"remote": git_remote.url, "branch": "nope"}, format="json")
    assert branch.status_code == 422 and branch.json()["code"] == "provider.ref_not_found"
    down = api.post(CONFIG, {"remote": f"http://127.0.0.1:{_free_port()}/x.git"}, format="json")
    assert down.status_code == 502
    assert not SyncConfig.objects.exists()
    export = api.post(CONFIG, {"remote": git_remote.url, "direction": "export"}, format="json")
    assert export.status_code == 201, export.json()
    assert any("git-receive-pack" in path for _, path, _ in git_remote.server.stats.requests)


def test_generic_git_import_auto_sync_polls_by_default(api, repo, git_remote, settings):
    settings.COREGIT_GIT_POLL_MINUTES = 15
    _credential(api, repo)
    made = api.post(CONFIG, {"remote": git_remote.url, "auto_sync": True}, format="json")
    assert made.status_code == 201, made.json()
    assert made.json()["poll_interval_minutes"] == 15
    refused = api.patch(CONFIG, {"poll_interval_minutes": None}, format="json")
    assert refused.status_code == 400 and "poll_interval_minutes" in refused.json()["error"]
    assert SyncConfig.objects.get().poll_interval_minutes == 15
    assert api.patch(CONFIG, {"poll_interval_minutes": 30}, format="json").status_code == 200
    api.patch(CONFIG, {"auto_sync": False, "poll_interval_minutes": None}, format="json")
    api.patch(CONFIG, {"auto_sync": True}, format="json")  # turned on again: polled again
    assert SyncConfig.objects.get().poll_interval_minutes == 15


@pytest.mark.django_db(transaction=True)
def test_trigger_naming_a_missing_branch_is_422(api, repo, git_remote, git_config, live_worker):
    git_remote.work.write("a.txt", "a\n")
    git_remote.work.commit("first")
    git_remote.work.push()
    resp = api.post("/v1/repos/app/sync", {"sync_id": git_config["id"], "branch": "nope"},
                    format="json")
    assert resp.status_code == 422, resp.json()
    assert resp.json()["code"] == "provider.ref_not_found" and "nope" in resp.json()["error"]
    run = SyncRun.objects.get(pk=resp.json()["run_id"])
    assert (run.status, run.error_code) == ("error", "provider.ref_not_found")
    with storage.open_repo(repo.disk_path) as r:
        assert storage.read_ref(r, b"refs/heads/nope") is None


def test_a_run_against_a_remote_that_vanished_is_422_not_502(api, repo, gh, monkeypatch):
    from core.errors import http_status_for_code
    from sync import run_services

    conn = _conn(api, "github", "ghp_rw")
    made = api.post(CONFIG, {"connection_id": conn, "remote": "octocat/exists"}, format="json")
    assert made.status_code == 201
    del gh.repos["octocat/exists"]  # deleted on GitHub after the config was made
    monkeypatch.setattr(run_services, "enqueue", lambda run: None)  # executed here, not a worker
    run = run_services.sync_run_request(config=SyncConfig.objects.get(), trigger="api")
    run_services.sync_run_execute(run_id=run.id)
    run.refresh_from_db()
    assert (run.status, run.error_code) == ("error", "provider.remote_not_found")
    assert http_status_for_code(run.error_code) == 422
