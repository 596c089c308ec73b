import pytest

from accounts.services import org_create
from connections.models import GitCredential

PATHS = ["/v1/repos/git-credentials", "/api/v1/repos/git-credentials"]


@pytest.fixture
def repo_id(api):
    return api.post("/v1/repos", {"slug": "app"}, format="json").json()["id"]


@pytest.mark.parametrize("path", PATHS)
def test_create_update_delete_as_the_seed(api, repo_id, path):
    made = api.post(path, {"repo_id": repo_id, "username": "git", "password": "glpat_x"},
                    format="json")
    assert made.status_code == 201
    body = made.json()
    assert set(body) == {"id", "created_at"} and body["id"].startswith("ggc_")
    cred = GitCredential.objects.get(id=body["id"])
    assert "glpat_x" not in cred.password_ciphertext
    assert cred.get_secret("password_ciphertext") == "glpat_x"

    again = api.post(path, {"repo_id": repo_id, "password": "other"}, format="json")
    assert again.status_code == 409

    put = api.put(path, {"id": body["id"], "password": "glpat_rotated"}, format="json")
    assert put.status_code == 200 and put.json() == body
    cred.refresh_from_db()
    assert cred.get_secret("password_ciphertext") == "glpat_rotated" and cred.username == "git"

    gone = api.delete(path, {"id": body["id"]}, format="json")
    assert gone.status_code == 204 and not GitCredential.objects.exists()
    assert api.delete(path, {"id": body["id"]}, format="json").status_code == 404


@pytest.mark.parametrize("method,body", [
    ("post", {"password": "x"}), ("post", {"repo_id": "repo_x"}), ("put", {"password": "x"}),
    ("put", {"id": "ggc_x"}), ("delete", {}),
])
def test_missing_fields_are_400(api, method, body):
    resp = getattr(api, method)(PATHS[0], body, format="json")
    assert resp.status_code == 400 and resp.json()["error"]


def test_unknown_repo_or_other_orgs_repo_is_404(api, repo_id, make_client):
    assert api.post(PATHS[0], {"repo_id": "repo_missing", "password": "x"},
                    format="json").status_code == 404
    other = make_client(org_create(name="Other")[1])
    assert other.post(PATHS[0], {"repo_id": repo_id, "password": "x"},
                      format="json").status_code == 404
    cred = api.post(PATHS[0], {"repo_id": repo_id, "password": "x"}, format="json").json()
    assert other.put(PATHS[0], {"id": cred["id"], "password": "y"},
                     format="json").status_code == 404
    assert other.delete(PATHS[0], {"id": cred["id"]}, format="json").status_code == 404


def test_scoped_keys_need_write_on_the_repo(api, repo_id, scoped_key, make_client):
    reader = make_client(scoped_key({"repos:app": ["read"]}))
    writer = make_client(scoped_key({"repos:app": ["write"]}))
    assert reader.post(PATHS[0], {"repo_id": repo_id, "password": "x"},
                       format="json").status_code == 403  # as on /v1/repos: 403 once it can read
    assert writer.post(PATHS[0], {"repo_id": repo_id, "password": "x"},
                       format="json").status_code == 201
