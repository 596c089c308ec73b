"""Stateful GitLab fake (REST API v4 + git smart HTTP) over `responses`, backed by bare repos.

    fake = FakeGitLab(tmp_path)                  # or host="https://gitlab.example.com"
    fake.add_token("glpat-x")
    project = fake.create_project("group/sub/proj", empty=False)
    with fake.mock():                            # or fake.install(rsps)
        requests.get(fake.api + "/projects/group%2Fsub%2Fproj",
                     headers={"PRIVATE-TOKEN": "glpat-x"})
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import quote, urlencode

from dulwich.repo import Repo

from tests.fakes import gitrepo, smart_http
from tests.fakes.base import FakeProvider, HttpError
from tests.fakes.gitlab_commits import CommitsMixin, commit_json

P = "/projects/([^/?]+)"


@dataclass
class GitLabProject:
    id: int
    path_with_namespace: str
    repo: Repo
    default_branch: str
    hooks: dict[int, dict] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not any(k.startswith(b"refs/heads/") for k in self.repo.refs.allkeys())


class FakeGitLab(CommitsMixin, FakeProvider):
    bad_json_message = "400 Bad request - JSON parse error"
    max_actions: int | None = None

    def __init__(self, tmp_path, *, host: str | None = None, clock=None):
        super().__init__(tmp_path, clock)
        self.web = (host or "https://gitlab.com").rstrip("/")
        self.api = self.web + "/api/v4"
        self.tokens: dict[str, str] = {}
        self.access_levels: dict[str, int] = {}
        self.repos: dict[str, GitLabProject] = {}
        self._by_id: dict[int, GitLabProject] = {}
        self._limit: dict | None = None
        self._next_id = 100
        self._register()

    # ------------------------------------------------------------ test API
    def add_token(self, token: str, username: str = "root", *, access_level: int = 40) -> None:
        """``access_level``: 20 Reporter (read), 30 Developer (push), 40 Maintainer."""
        self.tokens[token] = username
        self.access_levels[username] = access_level

    def create_project(self, path: str, *, empty: bool = True,
                       default_branch: str = "main") -> GitLabProject:
        repo = gitrepo.init_bare(self.root / "gitlab" / f"{path}.git", default_branch)
        self._next_id += 1
        project = GitLabProject(self._next_id, path, repo, default_branch)
        self.repos[path] = self._by_id[project.id] = project
        if not empty:
            self.commit(path, {"README.md": b"# " + path.encode() + b"\n"}, "Initial commit",
                        branch=default_branch)
        return project

    create_repo = create_project

    def git_url(self, path: str) -> str:
        return f"{self.web}/{path}.git"

    def hooks(self, path: str) -> list[dict]:
        return list(self.repos[path].hooks.values())

    def rate_limit(self, retry_after: int = 60, times: int = 1, reset: int | None = None):
        """The next `times` API requests answer 429 with Retry-After / RateLimit-Reset."""
        reset = reset if reset is not None else int(time.time()) + retry_after
        self._limit = {"retry_after": retry_after, "times": times, "reset": reset}

    # ------------------------------------------------------------ plumbing
    def _register(self):
        a, route = self.api, self.route
        route("GET", a, "/user", self._get_user, "GET /user")
        route("GET", a, P, self._get_project, "GET /projects/:id")
        route("GET", a, P + "/repository/branches/([^?]+)", self._get_branch,
              "GET /projects/:id/repository/branches/:branch")
        route("POST", a, P + "/repository/branches", self._create_branch,
              "POST /projects/:id/repository/branches")
        route("GET", a, P + "/repository/tree", self._get_tree, "GET /projects/:id/repository/tree")
        route("GET", a, P + "/repository/commits/([^/?]+)", self._get_commit,
              "GET /projects/:id/repository/commits/:sha")
        route("POST", a, P + "/repository/commits", self._create_commit,
              "POST /projects/:id/repository/commits")
        route("GET", a, P + "/hooks", self._list_hooks, "GET /projects/:id/hooks")
        route("POST", a, P + "/hooks", self._create_hook, "POST /projects/:id/hooks")
        route("DELETE", a, P + r"/hooks/(\d+)", self._delete_hook,
              "DELETE /projects/:id/hooks/:hook_id")
        for action in ("info/refs", "git-upload-pack", "git-receive-pack"):
            method = "GET" if action == "info/refs" else "POST"
            route(method, self.web, f"/(.+?)(?:\\.git)?/{action}", self._smart,
                  f"{method} /:path.git/{action}", git=True)

    def _auth(self, req, git):
        if git:
            creds = smart_http.basic_credentials(req.raw)
            if creds and creds[0] and creds[1] in self.tokens:
                return self.tokens[creds[1]]
            raise HttpError(401, b"HTTP Basic: Access denied\n",
                            {"WWW-Authenticate": 'Basic realm="GitLab"',
                             "Content-Type": "text/plain"})
        headers = req.raw.headers
        token = headers.get("PRIVATE-TOKEN")
        scheme, _, bearer = headers.get("Authorization", "").partition(" ")
        if token is None and scheme.lower() == "bearer":
            token = bearer
        if token in self.tokens:
            return self.tokens[token]
        raise HttpError(401, {"message": "401 Unauthorized"})

    def _limits(self, req, name):
        if not self._limit:
            return
        limit = self._limit
        limit["times"] -= 1
        if limit["times"] <= 0:
            self._limit = None
        raise HttpError(429, b"Retry later\n", {
            "Content-Type": "text/plain", "Retry-After": str(limit["retry_after"]),
            "RateLimit-Name": "throttle_authenticated_api", "RateLimit-Limit": "60",
            "RateLimit-Observed": "61", "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(limit["reset"]),
            "RateLimit-ResetTime": formatdate(limit["reset"], usegmt=True)})

    def _project(self, pid: str) -> GitLabProject:
        project = self._by_id.get(int(pid)) if pid.isdigit() else self.repos.get(pid)
        if project is None:
            raise HttpError(404, {"message": "404 Project Not Found"})
        return project

    # ------------------------------------------------------------ endpoints
    def _get_user(self, req):
        return 200, {"id": 1, "username": req.user, "name": req.user, "state": "active",
                     "web_url": f"{self.web}/{req.user}"}

    def _get_project(self, req, pid):
        p = self._project(pid)
        namespace, _, name = p.path_with_namespace.rpartition("/")
        return 200, {"id": p.id, "name": name, "path": name,
                     "path_with_namespace": p.path_with_namespace,
                     "name_with_namespace": p.path_with_namespace.replace("/", " / "),
                     "default_branch": None if p.empty else p.default_branch,
                     "empty_repo": p.empty, "visibility": "private",
                     "http_url_to_repo": self.git_url(p.path_with_namespace),
                     "web_url": f"{self.web}/{p.path_with_namespace}",
                     "namespace": {"full_path": namespace, "path": namespace.rpartition("/")[2]},
                     "permissions": {"project_access": {
                         "access_level": self.access_levels.get(req.user, 40),
                         "notification_level": 3}, "group_access": None}}

    def _get_branch(self, req, pid, branch):
        p = self._project(pid)
        sha = gitrepo.branch_sha(p.repo, branch)
        if sha is None:
            raise HttpError(404, {"message": "404 Branch Not Found"})
        return 200, self._branch_json(p, branch, sha)

    def _branch_json(self, p, branch: str, sha: str) -> dict:
        return {"name": branch, "merged": False, "protected": False,
                "default": branch == p.default_branch, "developers_can_push": False,
                "developers_can_merge": False, "can_push": True,
                "web_url": f"{self.web}/{p.path_with_namespace}/-/tree/{branch}",
                "commit": commit_json(self, p, sha)}

    def _get_tree(self, req, pid):
        p, q = self._project(pid), req.query
        sha = None
        if not p.empty:
            ref = q.get("ref") or p.default_branch
            sha = ref if gitrepo.has_object(p.repo, ref, "commit") else gitrepo.branch_sha(
                p.repo, ref)
        tree_id = gitrepo.commit_tree(p.repo, sha) if sha else None
        prefix = q.get("path", "").strip("/")
        if tree_id and prefix:
            entries = {path: (mode, s) for path, mode, s in gitrepo.walk(p.repo, tree_id)}
            found = entries.get(prefix)
            tree_id = found[1] if found and found[0] == gitrepo.MODE_TREE else None
        if tree_id is None:
            raise HttpError(404, {"message": "404 Tree Not Found"})
        recursive = q.get("recursive", "false").lower() in ("true", "1")
        base = prefix + "/" if prefix else ""
        rows = [{"id": s, "name": path.rsplit("/", 1)[-1], "type": gitrepo.kind(mode),
                 "path": base + path, "mode": gitrepo.mode_str(mode)}
                for path, mode, s in gitrepo.walk(p.repo, tree_id) if recursive or "/" not in path]
        per_page = max(1, min(int(q.get("per_page", 20)), 100))
        url = f"{self.api}/projects/{p.id}/repository/tree"
        params = {k: v for k, v in q.items() if k not in ("page", "page_token")}
        if q.get("pagination") == "keyset":
            start = 0
            if q.get("page_token"):
                names = [r["path"] for r in rows]
                try:
                    start = names.index(json.loads(base64.b64decode(q["page_token"]))
                                        ["file_name"]) + 1
                except (ValueError, KeyError, TypeError):
                    raise HttpError(400, {"message": "400 Bad request - could not find "
                                                     "starting OID"}) from None
            page, headers = rows[start:start + per_page], {}
            if start + per_page < len(rows):
                token = base64.b64encode(json.dumps({"file_name": page[-1]["path"]}).encode())
                link = url + "?" + urlencode({**params, "page_token": token.decode()})
                headers["Link"] = f'<{link}>; rel="next"'
            return 200, page, headers
        number = max(1, int(q.get("page", 1)))
        total_pages = max(1, -(-len(rows) // per_page))
        page = rows[(number - 1) * per_page:number * per_page]
        headers = {"X-Page": str(number), "X-Per-Page": str(per_page),
                   "X-Total": str(len(rows)), "X-Total-Pages": str(total_pages),
                   "X-Next-Page": str(number + 1) if number < total_pages else "",
                   "X-Prev-Page": str(number - 1) if number > 1 else ""}
        if number < total_pages:
            link = url + "?" + urlencode({**params, "page": number + 1})
            headers["Link"] = f'<{link}>; rel="next"'
        return 200, page, headers

    def _hook_json(self, hook):
        return {k: v for k, v in hook.items() if k != "token"}

    def _list_hooks(self, req, pid):
        return 200, [self._hook_json(h) for h in self._project(pid).hooks.values()]

    def _create_hook(self, req, pid):
        p, body = self._project(pid), req.json or {}
        url = body.get("url")
        if not url:
            raise HttpError(400, {"error": "url is missing"})
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise HttpError(422, {"message": {"url": ["is blocked: Only allowed schemes are "
                                                      "http, https"]}})
        self._next_id += 1
        hook = {"id": self._next_id, "url": url, "project_id": p.id,
                "push_events": bool(body.get("push_events", True)),
                "push_events_branch_filter": body.get("push_events_branch_filter", ""),
                "branch_filter_strategy": body.get("branch_filter_strategy", "wildcard"),
                "enable_ssl_verification": bool(body.get("enable_ssl_verification", True)),
                "merge_requests_events": bool(body.get("merge_requests_events", False)),
                "tag_push_events": bool(body.get("tag_push_events", False)),
                "token": body.get("token"), "alert_status": "executable",
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}
        p.hooks[hook["id"]] = hook
        return 201, self._hook_json(hook)

    def _delete_hook(self, req, pid, hook_id):
        p = self._project(pid)
        if p.hooks.pop(int(hook_id), None) is None:
            raise HttpError(404, {"message": "404 Not found"})
        return 204, None

    def _smart(self, req, path):
        project = self.repos.get(path)
        if project is None:
            return 404, b"The project you were looking for could not be found.\n", {
                "Content-Type": "text/plain"}
        action = req.url.split("?")[0].rsplit("/", 2)
        action = "info/refs" if action[-1] == "refs" else action[-1]
        return smart_http.serve(project.repo, req.raw, action)


def encoded(path: str) -> str:
    """URL-encode a full project path for use as :id ("group%2Fsub%2Fproject")."""
    return quote(path, safe="")
