import pytest

from accounts.services import org_create
from sync.models import SyncConfig, SyncState
from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import FakeGitLab
from tests.sync.conftest import PASSWORD, USER


@pytest.fixture
def gh(tmp_path):
    fake = FakeGitHub(tmp_path)
    fake.add_token("ghp_good")
    for name in ("octocat/my-repo", "octocat/other"):
        fake.create_repo(name, empty=False)
        fake.commit(name, {"a.txt": b"a"}, branch="develop")
    with fake.mock():
        yield fake


@pytest.fixture
def github_conn(api, gh):
    return api.post("/v1/connections", {"provider": "github", "label": "GH",
                    "access_token": "ghp_good"}, format="json").json()["id"]


def test_config_lifecycle_as_the_seed(api, repo, github_conn):
    made = api.post("/v1/repos/app/sync/config", {"connection_id": github_conn,
                    "remote": "octocat/my-repo", "direction": "import"}, format="json")
    assert made.status_code == 201, made.json()
    body = made.json()
    assert body["id"].startswith("sync_") and body["repo_id"] == repo.id
    assert (body["provider"], body["branch"], body["auto_sync"]) == ("github", "main", False)
    assert body["webhook_id"] is None

    again = api.post("/v1/repos/app/sync/config", {"connection_id": github_conn,
                     "remote": "octocat/other"}, format="json")
    assert again.status_code == 409

    got = api.get("/v1/repos/app/sync/config").json()["config"]
    assert got["remote"] == "octocat/my-repo" and got["last_synced_sha"] is None
    assert got["connection"] == {"label": "GH", "external_username": "octocat"}
    assert got["last_error"] is None

    config = SyncConfig.objects.get()
    SyncState.objects.create(config=config, branch="main", last_remote_sha="a" * 40)
    assert api.get("/v1/repos/app/sync/config").json()["config"]["last_synced_sha"] == "a" * 40
    assert api.patch("/v1/repos/app/sync/config", {"overwrite_diverged": True},
                     format="json").json() == {"updated": True}
    assert SyncState.objects.count() == 1  # a setting that changes nothing followed keeps state
    assert api.patch("/v1/repos/app/sync/config", {"branch": "develop"},
                     format="json").json() == {"updated": True}
    assert SyncState.objects.count() == 0  # a new branch starts from scratch
    assert api.delete("/v1/repos/app/sync/config").json() == {"deleted": True}
    assert api.get("/v1/repos/app/sync/config").json() == {"config": None}


@pytest.mark.parametrize("body", [
    {"remote": "octocat"}, {"remote": "a/b/c"}, {"remote": "octo cat/repo"},
    {"remote": "octocat/my-repo", "direction": "sideways"},
    {"remote": "octocat/my-repo", "branch": "bad..name"},
    {"remote": "octocat/my-repo", "poll_interval_minutes": 2},
])
def test_bad_github_config_is_400(api, repo, github_conn, body):
    resp = api.post("/v1/repos/app/sync/config", {"connection_id": github_conn, **body},
                    format="json")
    assert resp.status_code == 400, resp.json()
    assert SyncConfig.objects.count() == 0


@pytest.mark.parametrize("remote", ["file:///etc", "ssh://git@host/x.git", "git://host/x.git",
                                    "/srv/repos/x.git", "owner/repo", "ext::sh -c id"])
def test_generic_remote_must_be_an_https_url(api, repo, remote):
    resp = api.post("/v1/repos/app/sync/config", {"remote": remote}, format="json")
    assert resp.status_code == 400
    assert SyncConfig.objects.count() == 0


@pytest.fixture
def git_cred(api, repo):
    made = api.post("/v1/repos/git-credentials",
                    {"repo_id": repo.id, "username": USER, "password": PASSWORD}, format="json")
    assert made.status_code == 201


def test_generic_https_remote_is_provider_git(api, repo, git_remote, git_cred):
    made = api.post("/v1/repos/app/sync/config", {"remote": git_remote.url}, format="json")
    assert made.status_code == 201, made.json()
    assert made.json()["provider"] == "git"


def test_gitlab_nested_groups(api, repo, tmp_path):
    gl = FakeGitLab(tmp_path)
    gl.add_token("glpat", username="tanuki")
    gl.create_project("group/sub/project", empty=True)
    with gl.mock():
        conn = api.post("/v1/connections", {"provider": "gitlab", "label": "GL",
                        "access_token": "glpat"}, format="json").json()["id"]
        made = api.post("/v1/repos/app/sync/config", {"connection_id": conn,
                        "remote": "group/sub/project", "direction": "export"}, format="json")
    assert made.status_code == 201 and made.json()["provider"] == "gitlab"


def test_permissions_and_isolation(api, repo, github_conn, scoped_key, make_client):
    api.post("/v1/repos/app/sync/config", {"connection_id": github_conn,
             "remote": "octocat/my-repo"}, format="json")
    scoped = make_client(scoped_key({"repos:*": ["read", "write"]}))
    assert scoped.get("/v1/repos/app/sync/config").status_code == 200
    assert scoped.get("/v1/repos/app/sync/history").status_code == 200
    assert scoped.patch("/v1/repos/app/sync/config", {"auto_sync": True},
                        format="json").status_code == 403
    assert scoped.delete("/v1/repos/app/sync/config").status_code == 403
    sync_id = SyncConfig.objects.get().id
    assert scoped.post("/v1/repos/app/sync", {"sync_id": sync_id}, format="json").status_code == 403

    other = make_client(org_create(name="Other")[1])
    assert other.get("/v1/repos/app/sync/config").status_code == 404
    assert other.post("/v1/repos/app/sync", {"sync_id": sync_id}, format="json").status_code == 404
    # Another org's connection cannot be borrowed.
    api.delete("/v1/repos/app/sync/config")
    other.post("/v1/repos", {"slug": "mine"}, format="json")
    resp = other.post("/v1/repos/mine/sync/config", {"connection_id": github_conn,
                      "remote": "octocat/my-repo"}, format="json")
    assert resp.status_code == 404


def test_deleting_the_connection_cascades_to_configs(api, repo, github_conn):
    api.post("/v1/repos/app/sync/config", {"connection_id": github_conn,
             "remote": "octocat/my-repo"}, format="json")
    assert api.delete(f"/v1/connections/{github_conn}").json() == {"deleted": True}
    assert SyncConfig.objects.count() == 0


@pytest.mark.parametrize("remote", ["https://git.example.com/x.git?private_token=abc",
                                    "https://git.example.com/x.git#frag"])
def test_generic_remote_with_query_or_fragment_is_refused(api, repo, remote):
    resp = api.post("/v1/repos/app/sync/config", {"remote": remote}, format="json")
    assert resp.status_code == 400 and SyncConfig.objects.count() == 0


def test_surrounding_whitespace_is_trimmed_not_stored(api, repo, git_remote, git_cred):
    resp = api.post("/v1/repos/app/sync/config", {"remote": f" {git_remote.url}\n"},
                    format="json")
    assert resp.status_code == 201
    assert SyncConfig.objects.get().remote == git_remote.url


def test_github_remote_with_trailing_newline_is_refused(api, repo, github_conn):
    resp = api.post("/v1/repos/app/sync/config", {"connection_id": github_conn,
                    "remote": "owner/repo\n.git"}, format="json")
    assert resp.status_code == 400
