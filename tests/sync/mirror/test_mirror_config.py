"""Mirror fields on the sync config: create, get, PATCH, validation, state reset on mode switch."""

import pytest

from sync.models import SyncConfig, SyncState
from tests.sync.conftest import PASSWORD, USER

URL = "/v1/repos/app/sync/config"


@pytest.fixture
def remote(api, repo, git_remote):
    """A real generic remote with the repository's credential: configs are checked on save."""
    cred = api.post("/v1/repos/git-credentials",
                    {"repo_id": repo.id, "username": USER, "password": PASSWORD}, format="json")
    assert cred.status_code == 201
    return git_remote.url


def test_defaults_keep_the_seed_fields_and_add_snapshot_mode(api, repo, remote):
    made = api.post(URL, {"remote": remote, "branch": "main"}, format="json")
    assert made.status_code == 201, made.json()
    body = made.json()
    assert (body["mode"], body["branches"], body["tags"], body["prune"]) == (
        "snapshot", ["main"], False, False)
    assert {"id", "connection_id", "provider", "remote", "branch", "direction", "auto_sync",
            "overwrite_diverged", "poll_interval_minutes", "webhook_id"} <= set(body)
    # The default branch list follows the config's branch.
    api.patch(URL, {"branch": "develop"}, format="json")
    assert api.get(URL).json()["config"]["branches"] == ["develop"]


def test_mirror_fields_round_trip_and_patch(api, repo, remote):
    made = api.post(URL, {"remote": remote, "mode": "mirror", "branches": ["main", "release/*"],
                          "tags": True, "prune": True}, format="json")
    assert made.status_code == 201, made.json()
    got = api.get(URL).json()["config"]
    assert (got["mode"], got["branches"], got["tags"], got["prune"]) == (
        "mirror", ["main", "release/*"], True, True)

    config = SyncConfig.objects.get()
    SyncState.objects.create(config=config, branch="main", last_remote_sha="a" * 40)
    assert api.patch(URL, {"branches": ["feature-*"], "tags": False},
                     format="json").json() == {"updated": True}
    got = api.get(URL).json()["config"]
    assert (got["branches"], got["tags"], got["prune"]) == (["feature-*"], False, True)
    assert SyncState.objects.count() == 1
    assert api.patch(URL, {"mode": "snapshot"}, format="json").status_code == 200
    assert SyncState.objects.count() == 0  # switching mode starts from scratch, like remote
    assert api.get(URL).json()["config"]["mode"] == "snapshot"


@pytest.mark.parametrize("extra, field", [
    ({"mode": "replica"}, "mode"),
    ({"branches": ["bad..name"]}, "branches"),
    ({"branches": ["rel/[ab]"]}, "branches"),
    ({"branches": ["ok", "has space"]}, "branches"),
    ({"branches": "main"}, "branches"),
    ({"tags": "sometimes"}, "tags"),
    ({"prune": [1]}, "prune"),
])
def test_bad_mirror_fields_are_400_naming_the_field(api, repo, remote, extra, field):
    resp = api.post(URL, {"remote": remote, **extra}, format="json")
    assert resp.status_code == 400, resp.json()
    body = resp.json()
    assert body["code"] == "request.invalid" and field in body.get("details", {}), body
    # The same message shape as every other 400: the field, then its first error, in words.
    reason = body["details"][field][0]
    assert body["error"] == f"Invalid request: {field}: {reason}" and len(reason) > 5, body
    assert not SyncConfig.objects.exists()
    api.post(URL, {"remote": remote}, format="json")
    patched = api.patch(URL, extra, format="json")
    assert patched.status_code == 400 and field in patched.json().get("details", {})
    api.delete(URL)


def test_openapi_documents_the_mirror_fields_and_backup_endpoints(client):
    spec = client.get("/v1/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for name in ("SyncConfigCreateRequest", "SyncConfigPatchedUpdateRequest"):
        props = schemas[name]["properties"]
        mode = props["mode"]
        ref = mode.get("$ref") or (mode.get("allOf") or [{}])[0].get("$ref")
        enum = schemas[ref.rsplit("/", 1)[1]] if ref else mode
        assert enum["enum"] == ["snapshot", "mirror"]
        assert props["branches"]["type"] == "array" and props["tags"]["type"] == "boolean"
        assert props["prune"]["type"] == "boolean"
    paths = spec["paths"]
    assert {"get", "delete"} <= set(paths["/v1/repos/{slug}/sync/backups"])
    assert "post" in paths["/v1/repos/{namespace}/{slug}/sync/backups/restore"]


def test_backup_endpoints_permissions_and_isolation(api, repo, scoped_key, make_client):
    from accounts.services import org_create

    assert api.get("/v1/repos/app/sync/backups").json() == {"backups": []}
    body = {"ref": "refs/heads/main", "backup": "refs/coregit/backup/refs/heads/main/x"}
    assert api.post("/v1/repos/app/sync/backups/restore", body,
                    format="json").status_code == 404  # no such backup ref
    bad = api.post("/v1/repos/app/sync/backups/restore", {**body, "ref": "main"}, format="json")
    assert bad.status_code == 400 and "ref" in bad.json()["details"]
    scoped = make_client(scoped_key({"repos:*": ["read", "write"]}))
    assert scoped.get("/v1/repos/app/sync/backups").status_code == 200
    assert scoped.post("/v1/repos/app/sync/backups/restore", body,
                       format="json").status_code == 403
    assert scoped.delete("/v1/repos/app/sync/backups", {"backup": body["backup"]},
                         format="json").status_code == 403
    other = make_client(org_create(name="Other")[1])
    assert other.get("/v1/repos/app/sync/backups").status_code == 404
    assert other.post("/v1/repos/app/sync/backups/restore", body,
                      format="json").status_code == 404
