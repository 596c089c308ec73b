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
    # Per namespace ("" or "team"): a run of "app", and backup refs of "mirror" to restore/delete.
    runs: dict = field(default_factory=dict)
    backups: dict = field(default_factory=dict)


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
    world.runs = {"": _run(configs[0]).id, "team": _run(configs[1]).id}
    world.backups = {ns: _backup_refs(c.repository) for ns, c in
                     (("", world.mirror_config), ("team", _mirror_ns_config(org)))}
    world.params = {"slug": "app", "namespace": "team", "connection_id": conn.id,
                    "key_id": scoped.id, "hook_id": world.hook.id, "delivery_id": delivery.id,
                    "run_id": world.runs[""]}
    return world


def operation_params(op: Operation, world: World) -> dict:
    """Path parameters naming resources the operation can really act on."""
    params = dict(world.params)
    if "{run_id}" in op.template and "{namespace}" in op.template:
        params["run_id"] = world.runs["team"]
    if "/sync/backups" in op.template:
        params["slug"] = "mirror"  # the mirror configs' repositories hold backup refs
    return params


def _run(config):
    from sync.models import SyncRun

    return SyncRun.objects.create(org=config.org, repository=config.repository, config=config,
                                  direction="import", branch="main", status="success",
                                  progress={"phase": "done", "phases": ["fetch", "done"]},
                                  error_code="", refs=[{"ref": "refs/heads/main", "old_sha": None,
                                                        "new_sha": "a" * 40, "status": "created"}])


def _mirror_ns_config(org):
    from sync.models import SyncConfig

    return SyncConfig.objects.get(org=org, repository__slug="mirror",
                                  repository__namespace="team")


def _backup_refs(repository) -> dict:
    """``main`` at a commit, and two backups of it: one to restore, one to delete."""
    from dulwich.objects import Blob, Commit, Tree

    from repos import storage
    from sync.engine.mirror_refs import keep_backup

    with storage.open_repo(repository.disk_path) as repo:
        blob = Blob.from_string(b"kept\n")
        tree = Tree()
        tree.add(b"README", 0o100644, blob.id)
        commits = []
        for n in range(2):
            commit = Commit()
            commit.tree, commit.message = tree.id, f"backup {n}\n".encode()
            commit.author = commit.committer = b"World <world@example.com>"
            commit.author_time = commit.commit_time = 1_700_000_000 + n
            commit.author_timezone = commit.commit_timezone = 0
            commit.parents = [commits[-1].id] if commits else []
            commits.append(commit)
        for obj in (blob, tree, *commits):
            repo.object_store.add_object(obj)
        storage.cas_ref(repo, b"refs/heads/main", None, commits[1].id)
        names = [keep_backup(repo, b"refs/heads/main", c.id, f"2026010{i}T000000Z").decode()
                 for i, c in enumerate(commits, start=1)]
    return {"restore": names[0], "delete": names[1]}


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
    for config in configs:
        config.mode = "mirror"
        config.save(update_fields=["mode"])
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
    ns = "team" if "{namespace}" in op.template else ""
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
        ("DELETE", "/sync/backups"): {"backup": world.backups[ns]["delete"]},
        ("POST", "/sync/backups/restore"): {"ref": "refs/heads/main",
                                            "backup": world.backups[ns]["restore"]},
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
