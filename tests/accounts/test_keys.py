import io

import pytest
from django.core.management import CommandError, call_command

from accounts.keys import scopes_allow, validate_scopes
from accounts.models import ApiKey


def test_create_org_prints_master_key_once_and_stores_only_hash(db, make_client):
    out = io.StringIO()
    call_command("create_org", "Widgets Inc", stdout=out)
    raw = out.getvalue().split("shown once): ")[1].strip()
    key = ApiKey.objects.get(org__slug="widgets-inc")
    assert key.is_master and key.key_hash != raw and raw not in str(key.__dict__)
    assert make_client(raw).get("/v1/keys").status_code == 200
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_org", "Widgets Inc", stdout=io.StringIO())


def test_scoped_key_created_shown_once_listed_without_secret_and_deleted(api, make_client):
    resp = api.post("/v1/keys", {"name": "ci", "scopes": {"repos:*": ["read"]}}, format="json")
    assert resp.status_code == 201
    raw = resp.json()["key"]
    listed = api.get("/v1/keys").json()["keys"]
    assert {k["name"] for k in listed} == {"master", "ci"}
    assert raw not in str(listed)
    scoped = make_client(raw, bearer=True)
    assert scoped.get("/v1/repos").status_code == 200
    assert scoped.get("/v1/keys").status_code == 403  # master only
    assert api.delete(f"/v1/keys/{resp.json()['id']}").json() == {"deleted": True}
    assert scoped.get("/v1/repos").status_code == 401
    assert api.delete(f"/v1/keys/{resp.json()['id']}").status_code == 404


@pytest.mark.parametrize(
    "scopes",
    [{}, {"admin": ["read"]}, {"repos:*": ["delete"]}, {"repos:*": []},
     {"repos:Bad/Name": ["read"]}, ["repos:*"]],
)
def test_invalid_scopes_are_400_and_create_nothing(api, scopes):
    before = ApiKey.objects.count()
    resp = api.post("/v1/keys", {"name": "x", "scopes": scopes}, format="json")
    assert resp.status_code == 400
    assert "error" in resp.json()
    assert ApiKey.objects.count() == before


def test_auth_headers_and_401s(db, master_key, make_client):
    assert make_client(master_key).get("/v1/repos").status_code == 200
    assert make_client(master_key, bearer=True).get("/v1/repos").status_code == 200
    missing = make_client(None).get("/v1/repos")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert missing.json()["error"]
    assert make_client("cgk_not-a-real-key").get("/v1/repos").status_code == 401


def test_scope_rules_write_implies_read():
    scopes = validate_scopes({"repos:*": ["read"], "repos:team/app": ["write"]})
    assert scopes_allow(scopes, "other", "read")
    assert not scopes_allow(scopes, "other", "write")
    assert scopes_allow(scopes, "team/app", "write")
    assert scopes_allow({"repos:app": ["write"]}, "app", "read")
    assert not scopes_allow({"repos:app": ["write"]}, "team/app", "read")
