"""Issue 12 point 2: bad input is a 4xx JSON error that changes nothing, on every route."""

import base64
import json

import pytest
from django.test import override_settings

from tests.support.api_world import fingerprint, string_fields, valid_body

JSON = "application/json"


def send(client, op, world, body, *, raw=False):
    data = body if raw else json.dumps(body)
    return client.generic(op.method, op.url(world.params), data, content_type=JSON)


def assert_json_error(resp, status):
    assert resp.status_code == status, (resp.status_code, resp.content[:300])
    assert resp["Content-Type"].startswith(JSON), resp["Content-Type"]
    body = resp.json()
    assert isinstance(body["error"], str) and isinstance(body["code"], str), body
    return body


def body_operations(ops):
    return [op for op in ops if op.body_schema is not None]


def test_every_route_is_covered(all_operations, world):
    assert len(all_operations) >= 32
    assert len(body_operations(all_operations)) >= 14
    for op in body_operations(all_operations):
        valid_body(op, world)  # every body operation has a base body


# --- 404 and 405 are JSON, even with DEBUG on -------------------------------------------------
@override_settings(DEBUG=True)
@pytest.mark.parametrize("path", ["/v1/nope", "/v1/repos/a/b/c/d/e", "/api/v1/nope", "/nope",
                                  "/v1", "/v1/sync-webhooks/bitbucket"])
def test_unknown_route_is_json_404_without_the_url_list(client, path):
    resp = client.get(path)
    assert_json_error(resp, 404)
    assert b"urlpatterns" not in resp.content and b"URLconf" not in resp.content
    assert b"sync-webhooks" not in resp.content


@override_settings(DEBUG=True)
def test_every_route_answers_json_405_for_other_methods(client, all_operations, world):
    methods = {}
    for op in all_operations:
        methods.setdefault(op.template, set()).add(op.method)
    checked = 0
    for template, allowed in methods.items():
        url = template.replace("{slug}", "app").replace("{namespace}", "team")
        url = url.replace("{connection_id}", world.connection.id).replace("{key_id}", "key_x")
        for method in {"GET", "POST", "PUT", "PATCH", "DELETE"} - allowed:
            assert_json_error(client.generic(method, url), 405)
            checked += 1
    for url in ("/v1/sync-webhooks/github", f"/v1/sync-webhooks/gitlab/{world.config.id}"):
        resp = assert_json_error(client.get(url), 405)
        assert resp["code"] == "request.method_not_allowed"
    assert checked >= 48


# --- NUL bytes ----------------------------------------------------------------------------------
def test_nul_in_any_path_parameter_is_400(client, all_operations, world, provider):
    before = fingerprint()
    checked = 0
    for op in all_operations:
        for name in world.params:
            if "{" + name + "}" not in op.template:
                continue
            url = op.url({**world.params, name: world.params[name] + "%00"})
            body = json.dumps(valid_body(op, world)) if op.body_schema else None
            resp = client.generic(op.method, url, body or "", content_type=JSON)
            assert_json_error(resp, 400)
            checked += 1
    assert checked >= 20 and fingerprint() == before
    assert len(provider.calls) == 0


def test_nul_in_any_query_is_400(client):
    for query in ("cursor=%00", "limit=1%00", "x=%00"):
        assert_json_error(client.get(f"/v1/repos?{query}"), 400)
        assert_json_error(client.get(f"/v1/repos/app/sync/history?{query}"), 400)


def test_nul_in_any_string_field_is_400(client, all_operations, world):
    before = fingerprint()
    checked = 0
    for op in body_operations(all_operations):
        for name in string_fields(op):
            body = {**valid_body(op, world), name: "a\x00b"}
            body_resp = assert_json_error(send(client, op, world, body), 400)
            assert name in body_resp.get("details", {}), (op.name, body_resp)
            checked += 1
    assert checked >= 40 and fingerprint() == before


# --- JSON nested 100,000 deep -------------------------------------------------------------------
def test_deeply_nested_json_is_400_on_every_body_route(client, all_operations, world):
    deep = "[" * 100_000 + "]" * 100_000
    before = fingerprint()
    for op in body_operations(all_operations):
        assert_json_error(send(client, op, world, deep, raw=True), 400)
        nested = '{"label": ' + deep + "}"
        assert_json_error(send(client, op, world, nested, raw=True), 400)
    assert fingerprint() == before


# --- sizes ----------------------------------------------------------------------------------
def test_body_over_the_limit_is_413_on_every_body_route(client, all_operations, world, settings):
    limit = settings.COREGIT_MAX_API_BODY_BYTES
    assert limit == 2 * 1024 * 1024
    before = fingerprint()
    for op in body_operations(all_operations):
        field = next(iter(string_fields(op)))
        body = json.dumps({**valid_body(op, world), field: ""})
        padded = body[:-1] + " " * (limit + 1 - len(body)) + "}"
        assert len(padded) == limit + 1
        body = assert_json_error(send(client, op, world, padded, raw=True), 413)
        assert body["code"] == "request.too_large"
    assert fingerprint() == before


def _cursor(pk: str) -> str:
    raw = json.dumps(["2020-01-01T00:00:00+00:00", pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_long_cursor_is_400_and_short_ones_still_work(client):
    for url in ("/v1/repos", "/v1/repos/app/sync/history", "/v1/repos/team/app/sync/history"):
        assert client.get(f"{url}?cursor={_cursor('x')}").status_code == 200
        assert_json_error(client.get(f"{url}?cursor={_cursor('x' * 2000)}"), 400)
        assert_json_error(client.get(f"{url}?limit=101"), 400)


# --- types ----------------------------------------------------------------------------------
def test_numbers_are_not_coerced_into_string_fields(client, all_operations, world):
    before = fingerprint()
    checked = 0
    for op in body_operations(all_operations):
        for name in string_fields(op):
            for wrong in (5, 5.5, True, ["x"], {"x": "y"}):
                body = {**valid_body(op, world), name: wrong}
                err = assert_json_error(send(client, op, world, body), 400)
                assert name in err.get("details", {}), (op.name, name, err)
                checked += 1
    assert checked >= 200 and fingerprint() == before


def test_booleans_and_integers_are_strict(client, world):
    before = fingerprint()
    for body in ({"auto_sync": "true"}, {"auto_sync": 1}, {"overwrite_diverged": "yes"},
                 {"poll_interval_minutes": "10"}, {"poll_interval_minutes": 10.5},
                 {"poll_interval_minutes": True}, {"poll_interval_minutes": 2**40}):
        err = assert_json_error(client.patch("/v1/repos/app/sync/config", body, format="json"),
                                400)
        assert set(err["details"]) == set(body)
    for body in ({"sync_id": world.config.id, "wait": "false"},
                 {"sync_id": world.config.id, "force": 0}):
        assert_json_error(client.post("/v1/repos/app/sync", body, format="json"), 400)
    assert fingerprint() == before


# --- unknown and read-only fields -------------------------------------------------------------
def test_unknown_fields_are_refused_on_every_body_route(client, all_operations, world):
    before = fingerprint()
    for op in body_operations(all_operations):
        err = assert_json_error(send(client, op, world, {**valid_body(op, world), "zzz": 1}), 400)
        assert "zzz" in err["details"]
        assert_json_error(send(client, op, world, [valid_body(op, world)]), 400)
    assert fingerprint() == before


@pytest.mark.parametrize("field,value", [
    ("provider", "gitlab"), ("host", "https://github.example.com"), ("method", "github_app"),
    ("id", "conn_x"), ("external_username", "mallory"), ("version", 9), ("app_id", "1"),
])
def test_read_only_connection_fields_in_a_patch_are_400(client, world, field, value):
    before = fingerprint()
    url = f"/v1/connections/{world.connection.id}"
    err = assert_json_error(client.patch(url, {field: value}, format="json"), 400)
    assert field in err["details"]
    assert_json_error(client.patch(url, {"label": "new", field: value}, format="json"), 400)
    assert fingerprint() == before


@pytest.mark.parametrize("field,value", [
    ("connection_id", "conn_other"), ("provider", "gitlab"), ("id", "sync_x"),
    ("repo_id", "repo_x"), ("webhook_id", 1), ("last_synced_sha", "a" * 40),
])
def test_read_only_config_fields_in_a_patch_are_400(client, world, field, value):
    before = fingerprint()
    for url in ("/v1/repos/app/sync/config", "/v1/repos/team/app/sync/config"):
        err = assert_json_error(client.patch(url, {field: value}, format="json"), 400)
        assert field in err["details"]
    assert fingerprint() == before


# --- lengths ----------------------------------------------------------------------------------
def test_every_string_states_a_maximum_length(all_operations):
    for op in body_operations(all_operations):
        for name, prop in string_fields(op).items():
            variants = prop.get("oneOf", [prop])
            assert all("maxLength" in v for v in variants), (op.name, name, prop)
        for name, prop in op.body_schema.get("properties", {}).items():
            if prop.get("type") == "object":
                assert "maxProperties" in prop, (op.name, name)
    for op in all_operations:
        for param in op.spec.get("parameters", []):
            if param["in"] == "query" and param["schema"]["type"] == "string":
                assert "maxLength" in param["schema"], (op.name, param)


def test_one_past_every_maximum_length_is_400(client, all_operations, world, provider):
    before = fingerprint()
    checked = 0
    for op in body_operations(all_operations):
        for name, prop in string_fields(op).items():
            longest = max(v["maxLength"] for v in prop.get("oneOf", [prop]))
            body = {**valid_body(op, world), name: "a" * (longest + 1)}
            err = assert_json_error(send(client, op, world, body), 400)
            assert name in err["details"], (op.name, err)
            checked += 1
    assert checked >= 40 and fingerprint() == before
    assert len(provider.calls) == 0


def test_a_megabyte_token_is_400_and_never_reaches_the_provider(client, world, provider):
    huge = "ghp_" + "x" * 1024 * 1024
    before = fingerprint()
    made = client.post("/v1/connections", {"provider": "github", "label": "L",
                                           "access_token": huge}, format="json")
    assert assert_json_error(made, 400)["details"].keys() == {"access_token"}
    patched = client.patch(f"/v1/connections/{world.connection.id}", {"access_token": huge},
                           format="json")
    assert_json_error(patched, 400)
    for method in ("post", "put"):
        key = "repo_id" if method == "post" else "id"
        ident = world.bare.id if method == "post" else world.credential.id
        resp = getattr(client, method)("/v1/repos/git-credentials",
                                       {key: ident, "password": huge}, format="json")
        assert assert_json_error(resp, 400)["details"].keys() == {"password"}
    assert len(provider.calls) == 0 and fingerprint() == before


def test_scopes_per_key_and_description_are_capped(client):
    scopes = {f"repos:r{i}": ["read"] for i in range(101)}
    err = assert_json_error(client.post("/v1/keys", {"name": "k", "scopes": scopes},
                                        format="json"), 400)
    assert "scopes" in err["details"]
    ok = client.post("/v1/keys", {"name": "k", "scopes": dict(list(scopes.items())[:100])},
                     format="json")
    assert ok.status_code == 201, ok.json()
    long = client.post("/v1/repos", {"slug": "d", "description": "x" * 2001}, format="json")
    assert "description" in assert_json_error(long, 400)["details"]
    assert client.post("/v1/repos", {"slug": "d", "description": "x" * 2000},
                       format="json").status_code == 201
