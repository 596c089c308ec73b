"""Contents API (PUT) and repository webhooks of the GitHub fake."""

from __future__ import annotations

import base64
import binascii
import copy

from tests.fakes import gitrepo
from tests.fakes.base import HttpError
from tests.fakes.github_git import missing, unprocessable

DOCS = "https://docs.github.com/rest/repos"
EVENTS = {"push", "pull_request", "create", "delete", "release", "*", "ping", "issues"}


def validation_failed(message: str):
    return HttpError(422, {"message": "Validation Failed", "documentation_url": DOCS,
                           "errors": [{"resource": "Hook", "code": "custom",
                                       "message": message}]})


class RestMixin:
    # ------------------------------------------------------------ contents
    def _put_contents(self, req, owner, name, path):
        gh = self._repo(owner, name)
        repo, body = gh.repo, req.json or {}
        if not isinstance(body.get("message"), str):
            raise missing("message")
        if not isinstance(body.get("content"), str):
            raise missing("content")
        try:
            data = base64.b64decode(body["content"], validate=True)
        except binascii.Error:
            raise unprocessable("content is not valid Base64") from None
        if any(p in ("", ".", "..", ".git") for p in path.split("/")):
            raise unprocessable(f"path {path!r} contains a malformed path component")
        branch = body.get("branch") or gh.default_branch
        head = gitrepo.branch_sha(repo, branch)
        if head is None and not gh.empty:
            raise HttpError(404, {"message": f"Branch {branch} not found",
                                  "documentation_url": DOCS})
        leaves = gitrepo.flatten(repo, gitrepo.commit_tree(repo, head) if head else None)
        existing = leaves.get(path)
        if existing and "sha" not in body:
            raise missing("sha")
        if existing and body["sha"] != existing[1]:
            raise HttpError(409, {"message": f"{path} does not match {body['sha']}",
                                  "documentation_url": DOCS})
        mode = existing[0] if existing and existing[0] in (0o100644, 0o100755) else 0o100644
        blob = gitrepo.add_blob(repo, data)
        gitrepo.set_path(leaves, path, (mode, blob))
        tree = gitrepo.build_tree(repo, leaves)
        sha = gitrepo.make_commit(repo, tree, [head] if head else [], body["message"],
                                  body.get("author"), body.get("committer"))
        repo.refs[b"refs/heads/" + branch.encode()] = sha.encode()
        leaf = path.rsplit("/", 1)[-1]
        content = {"name": leaf, "path": path, "sha": blob, "size": len(data), "type": "file",
                   "url": self._url(gh, f"contents/{path}?ref={branch}"),
                   "html_url": f"{self.web}/{gh.full_name}/blob/{branch}/{path}",
                   "git_url": self._url(gh, f"git/blobs/{blob}"), "download_url": None,
                   "_links": {"self": self._url(gh, f"contents/{path}?ref={branch}"),
                              "git": self._url(gh, f"git/blobs/{blob}"),
                              "html": f"{self.web}/{gh.full_name}/blob/{branch}/{path}"}}
        return (200 if existing else 201), {"content": content,
                                            "commit": self._commit_json(gh, sha)}

    # ------------------------------------------------------------ hooks
    def _hook_json(self, gh, hook: dict) -> dict:
        out = copy.deepcopy(hook)
        if out["config"].get("secret"):
            out["config"]["secret"] = "********"
        url = self._url(gh, f"hooks/{hook['id']}")
        out.update(url=url, test_url=url + "/test", ping_url=url + "/pings",
                   deliveries_url=url + "/deliveries")
        return out

    def _hook(self, gh, hook_id):
        hook = gh.hooks.get(int(hook_id))
        if hook is None:
            raise HttpError(404, {"message": "Not Found", "documentation_url": DOCS})
        return hook

    def _check_hook(self, gh, hook):
        url = hook["config"].get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise validation_failed("Config must contain URL." if not url else
                                    "Config url is not supported")
        if hook["config"].get("content_type", "form") not in ("json", "form"):
            raise validation_failed("Config content_type must be json or form")
        unknown = set(hook["events"]) - EVENTS
        if unknown or not hook["events"]:
            raise validation_failed(f"Invalid events: {sorted(unknown)}")
        if any(h["config"]["url"] == url and h["id"] != hook["id"] for h in gh.hooks.values()):
            raise validation_failed("Hook already exists on this repository")

    def _list_hooks(self, req, owner, name):
        gh = self._repo(owner, name)
        return 200, [self._hook_json(gh, h) for h in gh.hooks.values()]

    def _create_hook(self, req, owner, name):
        gh = self._repo(owner, name)
        body = req.json or {}
        if not isinstance(body.get("config"), dict):
            raise missing("config")
        now = self._now()
        hook = {"type": "Repository", "id": self._id(), "name": body.get("name", "web"),
                "active": body.get("active", True), "events": body.get("events", ["push"]),
                "config": dict(body["config"]), "created_at": now, "updated_at": now,
                "last_response": {"code": None, "status": "unused", "message": None}}
        hook["config"].setdefault("content_type", "form")
        hook["config"].setdefault("insecure_ssl", "0")
        self._check_hook(gh, hook)
        gh.hooks[hook["id"]] = hook
        return 201, self._hook_json(gh, hook)

    def _get_hook(self, req, owner, name, hook_id):
        gh = self._repo(owner, name)
        return 200, self._hook_json(gh, self._hook(gh, hook_id))

    def _update_hook(self, req, owner, name, hook_id):
        gh = self._repo(owner, name)
        hook, body = copy.deepcopy(self._hook(gh, hook_id)), req.json or {}
        if isinstance(body.get("config"), dict):
            hook["config"] = dict(body["config"])
        if "events" in body:
            hook["events"] = list(body["events"])
        hook["events"] += [e for e in body.get("add_events", []) if e not in hook["events"]]
        hook["events"] = [e for e in hook["events"] if e not in body.get("remove_events", [])]
        if "active" in body:
            hook["active"] = bool(body["active"])
        self._check_hook(gh, hook)
        hook["updated_at"] = self._now()
        gh.hooks[hook["id"]] = hook
        return 200, self._hook_json(gh, hook)

    def _delete_hook(self, req, owner, name, hook_id):
        gh = self._repo(owner, name)
        del gh.hooks[self._hook(gh, hook_id)["id"]]
        return 204, None
