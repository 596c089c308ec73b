"""Check outgoing provider requests against the official API descriptions in shared/reference.

GitHub (OpenAPI 3.0.3): the operation is found by method + path template, then path parameters,
query parameters and the JSON body are validated with ``jsonschema`` (``$ref``s inlined, OpenAPI
``nullable`` rewritten to JSON Schema). GitLab (Swagger 2.0, known defects, see its README): only
the path and method are confirmed and the hook-creation body is validated; ``GET /user`` and
``GET /projects/{id}`` are not in the file and are accepted as known-undocumented.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import jsonschema

from tests.support.paths import REFERENCE  # noqa: E402

GITHUB_SPEC = REFERENCE / "github-openapi-subset.json"
GITLAB_SPEC = REFERENCE / "gitlab-openapi-subset.json"
GITLAB_UNDOCUMENTED = {("GET", "/api/v4/user"), ("GET", "/api/v4/projects/{id}")}
_METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}


@functools.cache
def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def github_example(name: str) -> Any:
    """A ``components/examples`` value from the GitHub description, as a fresh copy."""
    return copy.deepcopy(_load(GITHUB_SPEC)["components"]["examples"][name]["value"])


# --- schema preparation ---------------------------------------------------------------------------
def _pointer(doc: dict, ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _inline(doc: dict, node: Any, stack: tuple[str, ...] = ()) -> Any:
    """Inline ``#/...`` refs (cycles become ``{}``) and rewrite OpenAPI 3.0 ``nullable``."""
    if isinstance(node, list):
        return [_inline(doc, n, stack) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        return {} if ref in stack else _inline(doc, _pointer(doc, ref), (*stack, ref))
    out = {k: _inline(doc, v, stack) for k, v in node.items()}
    if out.pop("nullable", False):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _validate(instance: Any, schema: dict, what: str) -> None:
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(instance), key=str)
    if errors:
        detail = "; ".join(
            f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors[:5]
        )
        raise AssertionError(f"{what} does not match the schema: {detail}")


# --- operation lookup -----------------------------------------------------------------------------
def _template_regex(template: str, multi: set[str]) -> re.Pattern:
    out = []
    for i, part in enumerate(re.split(r"\{(\w+)\}", template)):
        if i % 2 == 0:
            out.append(re.escape(part))
        else:
            out.append(f"(?P<{part}>.+)" if part in multi else f"(?P<{part}>[^/]+)")
    return re.compile("^" + "".join(out) + "$")


def _params(doc: dict, op: dict, path_item: dict) -> list[dict]:
    raw = [*path_item.get("parameters", []), *op.get("parameters", [])]
    return [_inline(doc, p) for p in raw]


def _find(doc: dict, method: str, path: str) -> tuple[str, dict, dict, dict[str, str]]:
    """The (template, operation, path item, raw path params) for ``method path``; the template
    with the most literal characters wins (``/git/refs`` over ``/git/refs/{ref}``)."""
    matches = []
    for template, item in doc["paths"].items():
        op = item.get(method.lower())
        multi = {p["name"] for p in _params(doc, op or {}, item) if p.get("x-multi-segment")}
        m = _template_regex(template, multi).match(path)
        if m:
            literal = len(re.sub(r"\{\w+\}", "", template))
            matches.append((literal, template, op, item, m.groupdict()))
    if not matches:
        raise AssertionError(f"operation not found: {method} {path} (no such path)")
    literal, template, op, item, groups = max(matches, key=lambda t: t[0])
    if op is None:
        raise AssertionError(f"operation not found: {method} {path} ({template} has no {method})")
    return template, op, item, groups


def _request_parts(request: Any) -> tuple[str, str, dict[str, list[str]], Any]:
    request = getattr(request, "request", request)  # a responses Call or a PreparedRequest
    parts = urlsplit(request.url)
    query: dict[str, list[str]] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        query.setdefault(key, []).append(value)
    body = request.body
    if body is not None and not isinstance(body, bytes | str):
        body = b"".join(body)  # a streamed body (connections.providers.streaming.Body)
    if isinstance(body, bytes):
        body = body.decode()
    return request.method.upper(), parts.path, query, json.loads(body) if body else None


def _coerce(value: str, schema: dict) -> Any:
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return value
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


# --- GitHub ---------------------------------------------------------------------------------------
def _github_path(url_path: str) -> str:
    if "/api/v3/" in url_path:  # Enterprise Server
        return "/" + url_path.split("/api/v3/", 1)[1]
    return url_path


def check_github_request(request: Any) -> str:
    """Validate one request against the GitHub description; returns the matched template."""
    doc = _load(GITHUB_SPEC)
    method, url_path, query, body = _request_parts(request)
    path = _github_path(url_path)
    template, op, item, raw = _find(doc, method, path)
    where = f"{method} {template}"
    params = _params(doc, op, item)
    for p in params:
        if p["in"] == "path":
            value = unquote(raw[p["name"]])
            _validate(
                _coerce(value, p["schema"]), p["schema"], f"{where}: path parameter {p['name']}"
            )
    declared = {p["name"]: p for p in params if p["in"] == "query"}
    for name, values in query.items():
        if name not in declared:
            raise AssertionError(f"{where}: unknown query parameter {name!r}")
        schema = declared[name].get("schema", {})
        for value in values:
            _validate(_coerce(value, schema), schema, f"{where}: query parameter {name}")
    for name, p in declared.items():
        if p.get("required") and name not in query:
            raise AssertionError(f"{where}: missing required query parameter {name!r}")
    spec_body = op.get("requestBody")
    if spec_body is None:
        if body is not None:
            raise AssertionError(f"{where}: takes no request body, got {body!r}")
        return template
    spec_body = _inline(doc, spec_body)
    if body is None:
        if spec_body.get("required"):
            raise AssertionError(f"{where}: request body is required")
        return template
    schema = spec_body["content"]["application/json"]["schema"]
    _validate(body, schema, f"{where}: request body")
    return template


# --- GitLab ---------------------------------------------------------------------------------------
def check_gitlab_request(request: Any) -> str:
    """Confirm the path/method exist in the GitLab file and validate the hook-creation body."""
    doc = _load(GITLAB_SPEC)
    method, url_path, query, body = _request_parts(request)
    if "/api/v4/" not in url_path:
        raise AssertionError(f"not a GitLab API v4 request: {method} {url_path}")
    path = "/api/v4/" + url_path.split("/api/v4/", 1)[1]
    for undocumented in GITLAB_UNDOCUMENTED:
        if method == undocumented[0] and _template_regex(undocumented[1], set()).match(path):
            return undocumented[1]
    template, op, _item, _raw = _find(doc, method, path)
    declared = {p["name"] for p in op.get("parameters", []) if p.get("in") == "query"}
    unknown = set(query) - declared
    if unknown:
        raise AssertionError(f"{method} {template}: unknown query parameters {sorted(unknown)}")
    if (method, template) == ("POST", "/api/v4/projects/{id}/hooks"):
        spec = next(p for p in op["parameters"] if p["in"] == "body")
        schema = _inline(doc, spec["schema"], ())
        _validate(body, schema, f"{method} {template}: request body")
    return template


def check_calls(calls: Iterable[Any]) -> None:
    """Check every recorded ``responses`` call, GitHub or GitLab by URL."""
    for call in calls:
        url = call.request.url
        if "/api/v4/" in url:
            check_gitlab_request(call)
        else:
            check_github_request(call)


# --- our own document -----------------------------------------------------------------------------
def check_response(doc: dict, template: str, method: str, status: int, body: Any) -> None:
    """``body`` is what our document promises for ``method template`` answering ``status``."""
    op = doc["paths"][template][method.lower()]
    documented = op["responses"].get(str(status))
    if documented is None:
        raise AssertionError(f"{method} {template}: {status} is not documented")
    content = documented.get("content")
    if content is None:
        if body not in (None, b"", ""):
            raise AssertionError(f"{method} {template}: {status} has no documented body")
        return
    schema = _closed(_inline(doc, content["application/json"]["schema"]))
    _validate(body, schema, f"{method} {template} {status} body")


def _closed(node: Any) -> Any:
    """Response objects with listed properties admit no others: every field is documented."""
    if isinstance(node, list):
        return [_closed(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _closed(v) for k, v in node.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out
