"""Issue 12 point 1: the document is exact. Every operation documents typed bodies for every
status it answers, the error body is one shared component, security schemes are alternatives,
and each operation really answers its documented success status with its documented body."""

import json

import pytest

from tests.support.api_world import openapi_document, operation_params, operations, valid_body
from tests.support.openapi import check_response

DOC = openapi_document()
OPS = operations(DOC)
CREATES = {"POST /v1/keys", "POST /v1/repos", "POST /v1/connections",
           "POST /v1/repos/git-credentials", "POST /api/v1/repos/git-credentials",
           "POST /v1/repos/{slug}/sync/config", "POST /v1/repos/{namespace}/{slug}/sync/config",
           "POST /v1/event-hooks", "POST /v1/repos/{slug}/sync/config/webhook-secret",
           "POST /v1/repos/{namespace}/{slug}/sync/config/webhook-secret"}
ACCEPTS = {"POST /v1/event-hooks/{hook_id}/deliveries/{delivery_id}/redeliver"}


def test_documented_response_count():
    count = sum(len(op.spec["responses"]) for op in OPS)
    print(f"\n{len(OPS)} operations, {count} documented responses")
    assert len(OPS) >= 32 and count >= 6 * len(OPS)


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_every_response_is_typed(op):
    responses = op.spec["responses"]
    assert any(code.startswith("2") for code in responses)
    assert {"400", "401"} <= set(responses)
    if op.body_schema is not None:
        assert {"413", "415"} <= set(responses)
    for code, response in responses.items():
        if code == "204":
            assert "content" not in response
            continue
        schema = response["content"]["application/json"]["schema"]
        assert "$ref" in schema, (code, schema)  # a named, typed component, never a bare object
        if code.startswith(("4", "5")):
            assert schema["$ref"].rsplit("/", 1)[1] in {"Error", "RunError"}, (code, schema)
    assert op.spec["security"] == [{"ApiKeyHeader": []}, {"BearerKey": []}]


def test_error_component_and_security_schemes():
    error = DOC["components"]["schemas"]["Error"]
    assert error["required"] == ["code", "error"] or set(error["required"]) == {"error", "code"}
    assert set(error["properties"]) == {"error", "code", "details"}
    schemes = DOC["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"] == {"type": "apiKey", "in": "header", "name": "x-api-key"}
    assert schemes["BearerKey"] == {"type": "http", "scheme": "bearer"}


def test_success_codes_are_the_real_ones():
    for op in OPS:
        codes = {c for c in op.spec["responses"] if c.startswith("2")}
        if op.name in CREATES:
            assert codes == {"201"}, op.name
        elif op.name in ACCEPTS:
            assert codes == {"202"}, op.name
        elif op.name.endswith("/sync") and op.method == "POST":
            assert codes == {"200", "202"}, op.name
        elif op.method == "DELETE" and "git-credentials" in op.template:
            assert codes == {"204"}, op.name
        elif op.method == "DELETE":
            ref = op.spec["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
            assert codes == {"200"} and ref.endswith("/Deleted"), op.name
        else:
            assert codes == {"200"}, op.name


def test_request_bodies_are_closed_and_state_their_rules():
    for op in OPS:
        if op.body_schema is None:
            continue
        assert op.body_schema["additionalProperties"] is False, op.name
        if op.method != "PATCH":  # every PATCH field is optional
            assert op.spec["requestBody"]["required"] is True, op.name
    schemas = DOC["components"]["schemas"]
    create = schemas["ConnectionListCreateInputRequest"]
    assert create["required"] == ["label", "provider"] or set(create["required"]) == {
        "label", "provider"}
    described = json.dumps(DOC["paths"]["/v1/connections"]["post"])
    assert "github_app" in described and "installation_id" in described
    assert "owner/repo" in json.dumps(DOC["paths"]["/v1/repos/{slug}/sync/config"]["post"])
    repo = schemas["RepoListCreateInputRequest"]["properties"]["slug"]
    assert repo["pattern"] and repo["maxLength"] == 100


def test_delete_git_credential_documents_its_body(client, world):
    for template in ("/v1/repos/git-credentials", "/api/v1/repos/git-credentials"):
        body = DOC["paths"][template]["delete"]["requestBody"]
        ref = body["content"]["application/json"]["schema"]["$ref"]
        schema = DOC["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert set(schema["properties"]) == {"id"} and schema["required"] == ["id"]
    resp = client.generic("DELETE", "/v1/repos/git-credentials",
                          json.dumps({"id": world.credential.id}), content_type="application/json")
    assert resp.status_code == 204


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_each_operation_answers_a_documented_success(client, world, op):
    params = operation_params(op, world)
    if op.method == "POST" and op.template.endswith("/sync/config"):
        params["slug"] = "bare"  # a repository without a config
    if op.template.endswith("/webhook-secret"):
        params["slug"] = "mirror"  # a generic git config
    body = valid_body(op, world) if op.body_schema is not None else None
    resp = client.generic(op.method, op.url(params), json.dumps(body) if body else "",
                          content_type="application/json")
    assert 200 <= resp.status_code < 300, (resp.status_code, resp.content[:500])
    check_response(DOC, op.template, op.method, resp.status_code,
                   resp.json() if resp.content else None)


def test_merged_routes_are_in_the_contract_and_metrics_is_not():
    for prefix in ("/v1/repos/{slug}", "/v1/repos/{namespace}/{slug}"):
        assert {"get", "delete"} <= set(DOC["paths"][f"{prefix}/sync/backups"])
        assert "post" in DOC["paths"][f"{prefix}/sync/backups/restore"]
        assert "get" in DOC["paths"][f"{prefix}/sync/runs/{{run_id}}"]
    schemas = DOC["components"]["schemas"]
    assert {"progress", "error_code", "refs"} <= set(schemas["SyncRun"]["properties"])
    assert {"mode", "branches", "tags", "prune", "webhook_url"} <= set(
        schemas["SyncConfig"]["properties"])
    assert not [p for p in DOC["paths"] if "metrics" in p]  # Prometheus text, not the JSON API
