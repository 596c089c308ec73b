import pytest

from accounts.services import org_create
from repos.models import Repository


def test_create_get_list_delete_with_namespace(api, django_capture_on_commit_callbacks):
    resp = api.post("/v1/repos", {"slug": "app", "namespace": "team"}, format="json")
    assert resp.status_code == 201, resp.json()
    body = resp.json()
    assert body["id"].startswith("repo_") and body["default_branch"] == "main"
    assert body["created_at"].endswith("Z")
    repo = Repository.objects.get(id=body["id"])
    assert (repo.disk_path / "HEAD").read_text().strip() == "ref: refs/heads/main"
    assert api.get("/v1/repos/team/app").json()["id"] == body["id"]
    assert api.get("/v1/repos/app").status_code == 404  # un-namespaced path is another repo
    assert [r["full_path"] for r in api.get("/v1/repos").json()["repos"]] == ["team/app"]
    again = api.post("/v1/repos", {"slug": "app", "namespace": "team"}, format="json")
    assert again.status_code == 409
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete("/v1/repos/team/app").json() == {"deleted": True}
    assert not repo.disk_path.exists()
    assert api.get("/v1/repos/team/app").status_code == 404


@pytest.mark.parametrize(
    "payload",
    [{"slug": "Upper"}, {"slug": ""}, {"slug": "-dash"}, {"slug": "a" * 101}, {"slug": "sync"},
     {"slug": "git-credentials"}, {"slug": "ok", "namespace": "Bad NS"}, {"slug": "a_b"},
     {"slug": "ok", "default_branch": "bad..branch"}, {}],
)
def test_invalid_repo_input_is_400_and_changes_nothing(api, payload):
    resp = api.post("/v1/repos", payload, format="json")
    assert resp.status_code == 400
    assert resp.json()["error"]
    assert Repository.objects.count() == 0


def test_list_paginates_with_opaque_cursor(api):
    for i in range(5):
        api.post("/v1/repos", {"slug": f"r{i}"}, format="json")
    page1 = api.get("/v1/repos?limit=2").json()
    page2 = api.get(f"/v1/repos?limit=2&cursor={page1['next_cursor']}").json()
    page3 = api.get(f"/v1/repos?limit=2&cursor={page2['next_cursor']}").json()
    names = [r["slug"] for p in (page1, page2, page3) for r in p["repos"]]
    assert names == ["r4", "r3", "r2", "r1", "r0"] and page3["next_cursor"] is None
    assert api.get("/v1/repos?limit=0").status_code == 400
    assert api.get("/v1/repos?cursor=garbage!").status_code == 400


def test_permission_matrix_for_scoped_keys_and_other_orgs(api, scoped_key, make_client):
    api.post("/v1/repos", {"slug": "app"}, format="json")
    api.post("/v1/repos", {"slug": "secret"}, format="json")
    reader = make_client(scoped_key({"repos:app": ["read"]}))
    writer = make_client(scoped_key({"repos:*": ["write"]}))
    assert reader.get("/v1/repos/app").status_code == 200
    assert reader.get("/v1/repos/secret").status_code == 404  # no scope: existence not leaked
    assert [r["slug"] for r in reader.get("/v1/repos").json()["repos"]] == ["app"]
    assert reader.delete("/v1/repos/app").status_code == 403
    assert reader.post("/v1/repos", {"slug": "fresh"}, format="json").status_code == 403
    assert writer.post("/v1/repos", {"slug": "fresh"}, format="json").status_code == 201
    assert writer.delete("/v1/repos/fresh").status_code == 200

    _, other_key = org_create(name="Other")
    other = make_client(other_key)
    assert other.get("/v1/repos/app").status_code == 404
    assert other.delete("/v1/repos/app").status_code == 404
    assert other.get("/v1/repos").json()["repos"] == []


def test_openapi_and_docs_are_served(client, tmp_path):
    spec = client.get("/v1/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert {"/v1/repos", "/v1/connections", "/v1/repos/{slug}/sync", "/v1/repos/git-credentials",
            "/v1/repos/{namespace}/{slug}/sync/history"} <= set(paths)
    body = paths["/v1/connections"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"].endswith("ConnectionListCreateInputRequest")
    assert client.get("/v1/docs").status_code == 200
    # The generated document has no ambiguity warnings (colliding names, unguessable bodies).
    from django.core.management import call_command

    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.json"))


def test_healthz_reports_database_and_broker(db, client):
    resp = client.get("/healthz")
    assert resp.json()["database"] == "ok"
    assert resp.status_code == 200 and resp.json()["broker"] == "ok"


def test_healthz_says_503_when_the_broker_is_down(db, client):
    from workers.celery import app

    saved = app.conf.broker_write_url
    app.conf.broker_write_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        resp = client.get("/healthz")
    finally:
        app.conf.broker_write_url = saved
    assert resp.status_code == 503
    assert resp.json()["broker"].startswith("error") and resp.json()["database"] == "ok"
