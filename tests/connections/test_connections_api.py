import pytest
import requests

from accounts.services import org_create
from connections.models import Connection


def _create(api, token="ghp_good-token", **extra):
    body = {"provider": "github", "label": "My GitHub PAT", "access_token": token, **extra}
    return api.post("/v1/connections", body, format="json")


def test_create_validates_token_and_stores_it_encrypted(api, github_user):
    resp = _create(api)
    assert resp.status_code == 201, resp.json()
    body = resp.json()
    assert body["id"].startswith("conn_") and body["external_username"] == "octocat"
    assert body["provider"] == "github" and body["label"] == "My GitHub PAT"
    assert body["method"] == "token" and body["version"] == 1 and body["host"] is None
    assert body["created_at"].endswith("Z") and len(body["credentials_hash"]) >= 32
    assert "access_token" not in body and "ghp_good-token" not in resp.content.decode()
    conn = Connection.objects.get(id=body["id"])
    assert "ghp_good-token" not in conn.secret_ciphertext
    assert conn.get_secret("secret_ciphertext") == "ghp_good-token"
    assert github_user.calls[0].request.headers["Authorization"] == "Bearer ghp_good-token"


def test_rejected_token_is_400_with_provider_reason_and_stores_nothing(api, github_user):
    resp = _create(api, token="ghp_revoked")
    assert resp.status_code == 400
    assert resp.json()["error"] == "GitHub token validation failed: 401 Bad credentials"
    assert Connection.objects.count() == 0


def test_unreachable_provider_is_502_and_stores_nothing(api, rsps):
    rsps.add("GET", "https://api.github.com/user", body=requests.ConnectionError("refused"))
    resp = _create(api)
    assert resp.status_code == 502
    assert Connection.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [{"provider": "bitbucket", "label": "x", "access_token": "t"},
     {"provider": "github", "access_token": "t"},
     {"provider": "github", "label": "x"},
     {"provider": "gitlab", "label": "x", "method": "github_app", "app_id": "1",
      "installation_id": "2", "private_key": "k"},
     {"provider": "github", "label": "x", "method": "github_app", "app_id": "1"},
     {"provider": "github", "label": "x", "access_token": "t", "host": "ftp://example.com"},
     {"provider": "github", "label": "x", "access_token": "t", "host": "https://h.example/api"}],
)
def test_bad_input_is_400_and_changes_nothing(api, rsps, body):
    resp = api.post("/v1/connections", body, format="json")
    assert resp.status_code == 400, resp.json()
    assert resp.json()["error"]
    assert Connection.objects.count() == 0
    assert len(rsps.calls) == 0


def test_self_managed_gitlab_host(api, rsps):
    rsps.add("GET", "https://gitlab.example.com/api/v4/user",
             json={"id": 7, "username": "tanuki"})
    resp = api.post("/v1/connections", {"provider": "gitlab", "label": "GL", "access_token":
                    "glpat-abc", "host": "https://GitLab.example.com/"}, format="json")
    assert resp.status_code == 201, resp.json()
    assert resp.json()["host"] == "https://gitlab.example.com"
    assert resp.json()["external_username"] == "tanuki"


def test_list_patch_test_delete(api, github_user):
    conn_id = _create(api).json()["id"]
    listed = api.get("/v1/connections").json()["connections"]
    assert [c["id"] for c in listed] == [conn_id]
    assert set(listed[0]) >= {"last_synced_at", "updated_at", "external_username"}
    before = Connection.objects.get(id=conn_id)

    failed = api.patch(f"/v1/connections/{conn_id}", {"access_token": "ghp_bad"}, format="json")
    assert failed.status_code == 400
    after = Connection.objects.get(id=conn_id)
    assert (after.secret_ciphertext, after.version, after.external_username) == (
        before.secret_ciphertext, 1, "octocat")

    ok = api.patch(f"/v1/connections/{conn_id}", {"access_token": "ghp_new-token",
                   "label": "Rotated"}, format="json")
    assert ok.json() == {"updated": True}
    after = Connection.objects.get(id=conn_id)
    assert (after.external_username, after.version, after.label) == ("hubot", 2, "Rotated")
    assert after.credentials_hash != before.credentials_hash

    assert api.post(f"/v1/connections/{conn_id}/test").json() == {"valid": True,
                                                                 "username": "hubot"}
    assert api.delete(f"/v1/connections/{conn_id}").json() == {"deleted": True}
    assert api.post(f"/v1/connections/{conn_id}/test").status_code == 404


def test_test_endpoint_reports_revoked_token(api, github_user):
    conn_id = _create(api).json()["id"]
    github_user.replace("GET", "https://api.github.com/user", status=401,
                        json={"message": "Bad credentials"})
    assert api.post(f"/v1/connections/{conn_id}/test").json() == {
        "valid": False, "error": "GitHub token validation failed: 401 Bad credentials"}


def test_permission_matrix_and_other_orgs(api, github_user, scoped_key, make_client):
    conn_id = _create(api).json()["id"]
    scoped = make_client(scoped_key({"repos:*": ["read", "write"]}))
    assert _create(scoped).status_code == 403
    assert scoped.patch(f"/v1/connections/{conn_id}", {"label": "x"}, format="json"
                        ).status_code == 403
    assert scoped.delete(f"/v1/connections/{conn_id}").status_code == 403
    assert scoped.get("/v1/connections").status_code == 200
    assert scoped.post(f"/v1/connections/{conn_id}/test").status_code == 200

    other = make_client(org_create(name="Other")[1])
    assert other.get("/v1/connections").json() == {"connections": []}
    for call in (other.post(f"/v1/connections/{conn_id}/test"),
                 other.patch(f"/v1/connections/{conn_id}", {"label": "x"}, format="json"),
                 other.delete(f"/v1/connections/{conn_id}")):
        assert call.status_code == 404
    assert Connection.objects.filter(id=conn_id).exists()


@pytest.mark.parametrize("host", ["https://10.0.0.5", "https://127.1", "http://gitlab.example.com",
                                  "https://[::ffff:169.254.169.254]", "https://2130706433"])
def test_private_or_plain_http_hosts_are_refused_unless_allowed(api, rsps, settings, host):
    settings.COREGIT_ALLOW_PRIVATE_HOSTS = False
    resp = api.post("/v1/connections", {"provider": "gitlab", "label": "GL",
                    "access_token": "glpat-abc", "host": host}, format="json")
    assert resp.status_code == 400
    assert resp.json()["code"] == "request.unsafe_address", resp.json()
    assert len(rsps.calls) == 0 and Connection.objects.count() == 0
