"""A small organization with one of everything, and every API operation read from our own OpenAPI
document with a valid body for it, so edge tests can loop over every route."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

GOOD_TOKEN = "ghp_good"


@dataclass
class World:
    org: Any
    master_key: str
    repo: Any  # "app": has a sync config and a git credential
    ns_repo: Any  # "team/app": has a sync config
    bare: Any  # "bare": nothing attached
    connection: Any
    config: Any
    ns_config: Any
    credential: Any
    scoped_key_id: str
    hook: Any = None  # an event hook with one recorded delivery
    mirror_config: Any = None  # "mirror": a generic git config (takes a pasted webhook secret)
    params: dict = field(default_factory=dict)


def build_world() -> World:
    from accounts.services import api_key_create, org_create
    from connections.models import Connection, GitCredential
    from repos.services import repository_create
    from sync.models import SyncConfig

    org, master = org_create(name="World")
    from accounts.principal import Principal
    from accounts.selectors import api_key_by_raw

    principal = Principal(key=api_key_by_raw(raw=master))
    repo = repository_create(principal=principal, slug="app")
    ns_repo = repository_create(principal=principal, slug="app", namespace="team")
    bare = repository_create(principal=principal, slug="bare")
    repository_create(principal=principal, slug="bare", namespace="team")
    conn = Connection(org=org, provider="github", label="GH", external_username="octocat",
                      credentials_hash="h")
    conn.set_secret("secret_ciphertext", GOOD_TOKEN)
    conn.save(force_insert=True)
    configs = [SyncConfig.objects.create(org=org, repository=r, connection=conn,
                                         provider="github", remote="octocat/my-repo",
                                         branch="main") for r in (repo, ns_repo)]
    cred = GitCredential(org=org, repository=repo, username="git")
    cred.set_secret("password_ciphertext", "pw")
    cred.save(force_insert=True)
    scoped, _ = api_key_create(org=org, name="reader", scopes={"repos:*": ["read"]})
    world = World(org=org, master_key=master, repo=repo, ns_repo=ns_repo, bare=bare,
                  connection=conn, config=configs[0], ns_config=configs[1], credential=cred,
                  scoped_key_id=scoped.id)
    world.hook, delivery = _event_hook(org)
    world.mirror_config = _generic_config(org, principal)
    world.params = {"slug": "app", "namespace": "team", "connection_id": conn.id,
                    "key_id": scoped.id, "hook_id": world.hook.id, "delivery_id": delivery.id}
    return world


def _event_hook(org) -> tuple:
    from events.models import EventDelivery, EventHook

    hook = EventHook(org=org, url="http://127.0.0.1:9/hook", events=["sync.run.failed"])
    hook.set_secret("secret_ciphertext", "whsec_c2VjcmV0")
    hook.save(force_insert=True)
    delivery = EventDelivery.objects.create(hook=hook, event_type="sync.run.failed",
                                            message_id="msg_1", payload={"type": "x"})
    return hook, delivery


def _generic_config(org, principal):
    from repos.services import repository_create
    from sync.models import SyncConfig

    configs = [SyncConfig.objects.create(
        org=org, repository=repository_create(principal=principal, slug="mirror", namespace=ns),
        provider="git", remote="https://git.example.com/team/mirror.git", branch="main")
        for ns in ("", "team")]
    return configs[0]


def openapi_document() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))


@dataclass
class Operation:
    method: str
    template: str
    spec: dict
    body_schema: dict | None

    def url(self, params: dict) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], self.template)

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"


def _resolve(doc: dict, node: dict) -> dict:
    while "$ref" in node:
        node = doc["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def operations(doc: dict) -> list[Operation]:
    out = []
    for template, item in doc["paths"].items():
        for method, spec in item.items():
            body = spec.get("requestBody", {}).get("content", {}).get("application/json")
            schema = _resolve(doc, body["schema"]) if body else None
            out.append(Operation(method.upper(), template, spec, schema))
    return out


def string_fields(op: Operation) -> dict[str, dict]:
    """Body properties that are strings (``oneOf`` of strings included), with their schema."""
    found = {}
    for name, prop in (op.body_schema or {}).get("properties", {}).items():
        variants = prop.get("oneOf", [prop])
        if all(v.get("type") == "string" for v in variants):
            found[name] = prop
    return found


def valid_body(op: Operation, world: World) -> dict:
    """A body the operation accepts (the base that edge tests break one field at a time)."""
    path = op.template.removeprefix("/api")
    bodies = {
        ("POST", "/v1/keys"): {"name": "k", "scopes": {"repos:*": ["read"]}},
        ("POST", "/v1/repos"): {"slug": "fresh", "namespace": "", "default_branch": "main",
                                "description": "d"},
        ("POST", "/v1/repos/git-credentials"): {"repo_id": world.bare.id, "username": "git",
                                                "password": "pw"},
        ("PUT", "/v1/repos/git-credentials"): {"id": world.credential.id, "username": "git",
                                               "password": "pw2"},
        ("DELETE", "/v1/repos/git-credentials"): {"id": world.credential.id},
        ("POST", "/v1/connections"): {"provider": "github", "label": "L", "method": "token",
                                      "access_token": GOOD_TOKEN, "host": ""},
        ("PATCH", "/v1/connections/{connection_id}"): {"label": "L2"},
        ("PATCH", "/sync/config"): {"branch": "main", "auto_sync": False},
        ("POST", "/sync/config"): {"remote": "octocat/other", "branch": "main",
                                   "connection_id": world.connection.id},
        ("POST", "/sync"): {"sync_id": world.config.id, "wait": False, "branch": "main"},
        ("POST", "/v1/event-hooks"): {"url": "http://127.0.0.1:9/new", "events":
                                      ["sync.run.succeeded"], "description": "d"},
        ("PATCH", "/v1/event-hooks/{hook_id}"): {"url": "http://127.0.0.1:9/moved",
                                                 "events": ["sync.diverged"],
                                                 "description": "d2", "disabled": False},
    }
    for (method, suffix), body in bodies.items():
        if op.method == method and (path == suffix or (suffix.startswith("/sync")
                                                       and path.endswith(suffix))):
            body = copy.deepcopy(body)
            if "sync_id" in body and "{namespace}" in op.template:
                body["sync_id"] = world.ns_config.id
            return body
    raise AssertionError(f"no valid body for {op.name}")


def fingerprint() -> list:
    """Everything the API can change (``last_used_at`` aside, which authentication touches)."""
    from accounts.models import ApiKey
    from connections.models import Connection, GitCredential
    from events.models import EventDelivery, EventHook
    from repos.models import Repository
    from sync.models import SyncConfig, SyncRun, SyncState

    rows = [list(ApiKey.objects.order_by("id").values_list("id", "name", "scopes"))]
    for model in (Repository, Connection, GitCredential, SyncConfig, SyncRun, SyncState,
                  EventHook, EventDelivery):
        rows.append([sorted(r.items()) for r in model.objects.order_by("pk").values()])
    return rows
