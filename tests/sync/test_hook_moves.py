"""Hooks move without ever being half done, and removing one never blocks a deletion.

The GitHub and GitLab fakes refuse (4xx/5xx) or are unreachable (connection error) on cue.
"""

import pytest
import requests

from sync.models import SyncConfig
from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import FakeGitLab

TOKEN = "ghp_moves"
CREATE = "POST /repos/{owner}/{repo}/hooks"
DELETE = "DELETE /repos/{owner}/{repo}/hooks/{hook_id}"
UNREACHABLE = requests.ConnectionError("Connection refused")


@pytest.fixture
def gh(tmp_path):
    fake = FakeGitHub(tmp_path)
    fake.add_token(TOKEN)
    fake.create_repo("octocat/old", empty=False)
    fake.create_repo("octocat/new", empty=False)
    with fake.mock():
        yield fake


@pytest.fixture
def config(api, repo, gh):
    conn = api.post("/v1/connections", {"provider": "github", "label": "GH",
                    "access_token": TOKEN}, format="json").json()["id"]
    made = api.post("/v1/repos/app/sync/config", {"connection_id": conn, "remote": "octocat/old",
                    "auto_sync": True}, format="json")
    assert made.status_code == 201, made.json()
    return SyncConfig.objects.get()


@pytest.mark.parametrize("failure,status", [
    ({"status": 404, "body": {"message": "Not Found"}}, 422),  # the token may not manage hooks
    ({"status": 422}, 422), ({"status": 500}, 502), ({"status": 502, "body": UNREACHABLE}, 502),
])
def test_a_refused_registration_keeps_the_old_hook_and_config(
        api, gh, config, failure, status, django_capture_on_commit_callbacks):
    old_hook = gh.hooks("octocat/old")[0]["id"]
    gh.fail_next(endpoint=CREATE, **failure)
    with django_capture_on_commit_callbacks(execute=True):
        resp = api.patch("/v1/repos/app/sync/config", {"remote": "octocat/new"}, format="json")
    assert resp.status_code == status, resp.json()
    assert resp.json()["code"].startswith("provider.")
    if status == 422:
        assert "refused to register the push webhook" in resp.json()["error"]
    assert [h["id"] for h in gh.hooks("octocat/old")] == [old_hook]
    assert gh.hooks("octocat/new") == []
    kept = SyncConfig.objects.get()
    assert (kept.remote, kept.webhook_id) == ("octocat/old", old_hook)
    assert kept.webhook_secret_ciphertext == config.webhook_secret_ciphertext


def test_the_new_hook_comes_first_and_the_old_goes_after_the_commit(
        api, gh, config, django_capture_on_commit_callbacks):
    old_hook = gh.hooks("octocat/old")[0]["id"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        resp = api.patch("/v1/repos/app/sync/config", {"remote": "octocat/new"}, format="json")
    assert resp.status_code == 200
    # Not committed yet: the old hook is still there, the new one already registered.
    assert [h["id"] for h in gh.hooks("octocat/old")] == [old_hook]
    new_hook = gh.hooks("octocat/new")[0]["id"]
    assert SyncConfig.objects.get().webhook_id == new_hook
    for callback in callbacks:
        callback()
    assert gh.hooks("octocat/old") == []
    calls = [name for _, _, name in gh.requests if name in (CREATE, DELETE)]
    assert calls == [CREATE, CREATE, DELETE]  # create (POST), new hook, then old one removed


@pytest.mark.parametrize("body", [{"auto_sync": False}, {"direction": "export"},
                                  {"remote": "octocat/new"}])
def test_an_unreachable_provider_on_removal_goes_to_last_error(
        api, gh, config, body, django_capture_on_commit_callbacks):
    gh.fail_next(endpoint=DELETE, status=502, body=UNREACHABLE)
    with django_capture_on_commit_callbacks(execute=True):
        resp = api.patch("/v1/repos/app/sync/config", body, format="json")
    assert resp.status_code == 200, resp.json()
    got = api.get("/v1/repos/app/sync/config").json()["config"]
    assert got["last_error"].startswith("Could not remove the webhook on GitHub")
    for key, value in body.items():
        assert got[key] == value


# --- deletions answer with warnings (transactional: the removal runs after a real commit) ------
@pytest.mark.parametrize("failure", [{"status": 403, "body": {"message": "Must have admin"}},
                                     {"status": 502, "body": UNREACHABLE}])
def test_deleting_the_config_never_blocks_and_warns(api, gh, config, failure, transactional_db):
    gh.fail_next(endpoint=DELETE, **failure)
    resp = api.delete("/v1/repos/app/sync/config")
    assert resp.status_code == 200
    body = resp.json()
    assert body["deleted"] is True and len(body["warnings"]) == 1
    assert body["warnings"][0].startswith("Could not remove the webhook on GitHub: ")
    assert not SyncConfig.objects.exists()
    assert len(gh.hooks("octocat/old")) == 1  # the provider kept it; we said so


def test_deleting_the_repository_never_blocks_and_warns(api, gh, config, transactional_db):
    gh.fail_next(endpoint=DELETE, status=502, body=UNREACHABLE)
    resp = api.delete("/v1/repos/app")
    assert resp.status_code == 200
    assert resp.json()["deleted"] is True and "GitHub" in resp.json()["warnings"][0]
    assert api.get("/v1/repos/app").status_code == 404


def test_deleting_the_connection_never_blocks_and_warns(api, gh, config, transactional_db):
    gh.fail_next(endpoint=DELETE, status=500)
    resp = api.delete(f"/v1/connections/{config.connection_id}")
    assert resp.status_code == 200
    assert resp.json()["deleted"] is True and len(resp.json()["warnings"]) == 1
    assert not SyncConfig.objects.exists()


def test_a_clean_deletion_keeps_the_seed_body(api, gh, config, transactional_db):
    assert api.delete("/v1/repos/app/sync/config").json() == {"deleted": True}
    assert gh.hooks("octocat/old") == []


# --- GitLab: hooks filter by branch, so a branch change moves the hook -------------------------
def test_gitlab_branch_change_moves_the_hook_new_first(api, repo, tmp_path,
                                                       django_capture_on_commit_callbacks):
    gl = FakeGitLab(tmp_path)
    gl.add_token("glpat-moves", username="tanuki")
    gl.create_project("grp/proj", empty=False, default_branch="main")
    gl.commit("grp/proj", {"x": b"x"}, branch="develop")
    with gl.mock():
        conn = api.post("/v1/connections", {"provider": "gitlab", "label": "GL",
                        "access_token": "glpat-moves"}, format="json").json()["id"]
        api.post("/v1/repos/app/sync/config", {"connection_id": conn, "remote": "grp/proj",
                 "auto_sync": True}, format="json")
        old = gl.hooks("grp/proj")[0]
        gl.fail_next(endpoint="POST /projects/:id/hooks", status=500)
        with django_capture_on_commit_callbacks(execute=True):
            refused = api.patch("/v1/repos/app/sync/config", {"branch": "develop"},
                                format="json")
        assert refused.status_code == 502
        assert gl.hooks("grp/proj") == [old] and SyncConfig.objects.get().branch == "main"
        with django_capture_on_commit_callbacks(execute=True):
            moved = api.patch("/v1/repos/app/sync/config", {"branch": "develop"},
                              format="json")
        assert moved.status_code == 200, moved.json()
    hooks = gl.hooks("grp/proj")
    assert len(hooks) == 1 and hooks[0]["id"] != old["id"]
    assert hooks[0]["push_events_branch_filter"] == "develop"
    assert SyncConfig.objects.get().webhook_id == hooks[0]["id"]


def _break_credential(config) -> None:
    """A key rotated away or a damaged row: the stored secret no longer decrypts."""
    from connections.models import Connection

    conn = Connection.objects.get(pk=config.connection_id)
    ct = conn.secret_ciphertext
    mid = len(ct) // 2
    bad = ct[:mid] + ("A" if ct[mid] != "A" else "B") + ct[mid + 1:]
    Connection.objects.filter(pk=conn.pk).update(secret_ciphertext=bad)


def test_deleting_the_config_warns_when_the_credential_does_not_decrypt(
        api, gh, config, transactional_db, caplog):
    _break_credential(config)
    resp = api.delete("/v1/repos/app/sync/config")
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["deleted"] is True and len(body["warnings"]) == 1
    assert body["warnings"][0].startswith("Could not remove the webhook on GitHub")
    assert not SyncConfig.objects.exists()
    assert len(gh.hooks("octocat/old")) == 1
    assert TOKEN not in caplog.text and TOKEN not in resp.content.decode()


def test_a_credential_that_does_not_decrypt_on_removal_goes_to_last_error(
        api, gh, config, django_capture_on_commit_callbacks):
    _break_credential(config)
    with django_capture_on_commit_callbacks(execute=True):
        # Turning auto-sync off needs no remote check: only the hook removal uses the credential.
        resp = api.patch("/v1/repos/app/sync/config", {"auto_sync": False}, format="json")
    assert resp.status_code == 200, resp.content
    got = api.get("/v1/repos/app/sync/config").json()["config"]
    assert got["auto_sync"] is False
    assert got["last_error"].startswith("Could not remove the webhook on GitHub")
