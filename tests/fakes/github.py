"""Stateful GitHub fake (REST API + git smart HTTP) over `responses`, backed by bare repos.

    fake = FakeGitHub(tmp_path)                 # or host="https://ghe.example.com"
    fake.add_token("ghp_x")
    fake.create_repo("o/r", empty=False)
    with fake.mock():                            # or fake.install(rsps)
        requests.get(fake.api + "/repos/o/r", headers={"Authorization": "token ghp_x"})
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dulwich.repo import Repo

from tests.fakes import gitrepo, smart_http
from tests.fakes.base import FakeProvider, HttpError
from tests.fakes.github_git import GitDataMixin
from tests.fakes.github_rest import RestMixin

DOCS = "https://docs.github.com/rest"
SECONDARY = ("You have exceeded a secondary rate limit. Please wait a few minutes before you try "
             "again. If you reach out to GitHub Support for help, please include the request ID.")
CONTENT_ENDPOINTS = {f"POST /repos/{{owner}}/{{repo}}/git/{k}"
                     for k in ("blobs", "trees", "commits", "refs")}
CONTENT_ENDPOINTS.add("PUT /repos/{owner}/{repo}/contents/{path}")
R = "/repos/([^/?]+)/([^/?]+)"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class GitHubRepo:
    full_name: str
    repo: Repo
    default_branch: str
    id: int
    hooks: dict[int, dict] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not any(k.startswith(b"refs/heads/") for k in self.repo.refs.allkeys())


class FakeGitHub(GitDataMixin, RestMixin, FakeProvider):
    # GitHub's secondary limit on content-creating requests: 80 in any 60 s. A test may shrink
    # the window (with its pacer's) to exercise the same rule in seconds.
    content_limit = 80
    content_window = 60.0

    def __init__(self, tmp_path, *, host: str | None = None, clock=None):
        super().__init__(tmp_path, clock)
        host = (host or "").rstrip("/")
        self.api = f"{host}/api/v3" if host else "https://api.github.com"
        self.web = host or "https://github.com"
        self.tokens: dict[str, str] = {}
        self.read_only_logins: set[str] = set()
        self.repos: dict[str, GitHubRepo] = {}
        self.secondary_limit_hits = 0
        self._primary: dict | None = None
        self._secondary: dict | None = None
        self._content_times: deque[float] = deque()
        self._next_id = 1000
        self._register()

    # ------------------------------------------------------------ test API
    def add_token(self, token: str, login: str = "octocat", *, push: bool = True) -> None:
        """``push=False``: the user only has read access (``permissions.push`` is false)."""
        self.tokens[token] = login
        if not push:
            self.read_only_logins.add(login)

    def create_repo(self, full_name: str, *, empty: bool = True,
                    default_branch: str = "main") -> GitHubRepo:
        repo = gitrepo.init_bare(self.root / "github" / f"{full_name}.git", default_branch)
        gh = self.repos[full_name] = GitHubRepo(full_name, repo, default_branch, self._id())
        if not empty:
            self.commit(full_name, {"README.md": b"# " + full_name.encode() + b"\n"},
                        "Initial commit", branch=default_branch)
        return gh

    def git_url(self, remote: str) -> str:
        return f"{self.web}/{remote}.git"

    def hooks(self, remote: str) -> list[dict]:
        return list(self.repos[remote].hooks.values())

    def rate_limit(self, remaining: int = 0, reset: int | None = None, times: int = 1):
        reset = reset if reset is not None else int(datetime.now(UTC).timestamp()) + 60
        self._primary = {"remaining": remaining, "reset": reset, "times": times}

    def secondary_limit(self, retry_after: int = 60, times: int = 1):
        self._secondary = {"retry_after": retry_after, "times": times}

    # ------------------------------------------------------------ plumbing
    @staticmethod
    def _now() -> str:
        return now_iso()

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _register(self):
        a, w, route = self.api, self.web, self.route
        route("GET", a, "/user", self._get_user, "GET /user")
        route("GET", a, "/rate_limit", self._get_rate_limit, "GET /rate_limit")
        route("GET", a, R, self._get_repo, "GET /repos/{owner}/{repo}")
        route("GET", a, R + "/branches/([^?]+)", self._get_branch,
              "GET /repos/{owner}/{repo}/branches/{branch}")
        route("PUT", a, R + "/contents/([^?]+)", self._put_contents,
              "PUT /repos/{owner}/{repo}/contents/{path}")
        route("GET", a, R + "/hooks", self._list_hooks, "GET /repos/{owner}/{repo}/hooks")
        route("POST", a, R + "/hooks", self._create_hook, "POST /repos/{owner}/{repo}/hooks")
        for method, fn in (("GET", self._get_hook), ("PATCH", self._update_hook),
                           ("DELETE", self._delete_hook)):
            route(method, a, R + r"/hooks/(\d+)", fn,
                  f"{method} /repos/{{owner}}/{{repo}}/hooks/{{hook_id}}")
        self._register_git_data(a)
        for action in ("info/refs", "git-upload-pack", "git-receive-pack"):
            method = "GET" if action == "info/refs" else "POST"
            route(method, w, f"/([^/?]+)/([^/?]+?)(?:\\.git)?/{action}", self._smart,
                  f"{method} /{{owner}}/{{repo}}.git/{action}", git=True)

    def _auth(self, req, git):
        if git:
            creds = smart_http.basic_credentials(req.raw)
            if not creds or creds[1] not in self.tokens:
                raise HttpError(401, b"Invalid username or token. Password authentication is "
                                b"not supported for Git operations.\n",
                                {"WWW-Authenticate": 'Basic realm="GitHub"',
                                 "Content-Type": "text/plain"})
            return self.tokens[creds[1]]
        scheme, _, token = req.raw.headers.get("Authorization", "").partition(" ")
        if scheme.lower() in ("token", "bearer") and token in self.tokens:
            return self.tokens[token]
        if not token and req.url.split("?")[0] == self.api + "/rate_limit":
            return None
        message = "Bad credentials" if token else "Requires authentication"
        raise HttpError(401, {"message": message, "documentation_url": DOCS, "status": "401"})

    def _limits(self, req, name):
        if self._primary and self._primary["remaining"] <= 0:
            self._primary["times"] -= 1
            headers = {"x-ratelimit-remaining": "0",
                       "x-ratelimit-reset": str(self._primary["reset"])}
            if self._primary["times"] <= 0:
                self._primary = None
            raise HttpError(403, {"message": f"API rate limit exceeded for user ID 1. ({req.user})",
                                  "documentation_url": DOCS}, headers)
        if self._secondary:
            retry_after = self._secondary["retry_after"]
            self._secondary["times"] -= 1
            if self._secondary["times"] <= 0:
                self._secondary = None
            self._secondary_hit(retry_after)
        if name in CONTENT_ENDPOINTS:
            # Counted by arrival (requests may be served out of order): the window before it.
            now, times, window = req.arrived, self._content_times, self.content_window
            while times and now - times[0] >= 2 * window:
                times.popleft()
            recent = [t for t in times if now - window < t <= now]
            if len(recent) >= self.content_limit:
                self._secondary_hit(max(1, math.ceil(window - (now - min(recent)))))
            bisect.insort(times, now)

    def _secondary_hit(self, retry_after):
        self.secondary_limit_hits += 1
        raise HttpError(403, {"message": SECONDARY, "documentation_url": DOCS},
                        {"retry-after": str(retry_after)})

    def _extra_headers(self):
        primary = self._primary or {}
        remaining = primary.get("remaining", 4999)
        reset = primary.get("reset", int(datetime.now(UTC).timestamp()) + 3600)
        return {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": str(remaining),
                "x-ratelimit-reset": str(reset), "x-ratelimit-used": str(5000 - remaining),
                "x-ratelimit-resource": "core", "x-github-api-version-selected": "2022-11-28"}

    def _repo(self, owner, name) -> GitHubRepo:
        try:
            return self.repos[f"{owner}/{name}"]
        except KeyError:
            raise HttpError(404, {"message": "Not Found", "documentation_url": DOCS}) from None

    # ------------------------------------------------------------ endpoints
    def _get_user(self, req):
        return 200, {"login": req.user, "id": 1, "type": "User", "name": req.user,
                     "url": f"{self.api}/users/{req.user}"}

    def _get_rate_limit(self, req):
        h = self._extra_headers()
        core = {"limit": 5000, "remaining": int(h["x-ratelimit-remaining"]),
                "reset": int(h["x-ratelimit-reset"]), "used": int(h["x-ratelimit-used"])}
        return 200, {"resources": {"core": core, "search": dict(core, limit=30)}, "rate": core}

    def _get_repo(self, req, owner, name):
        gh = self._repo(owner, name)
        return 200, {"id": gh.id, "node_id": f"R_{gh.id}", "name": name,
                     "full_name": gh.full_name, "private": True, "visibility": "private",
                     "owner": {"login": owner, "id": 1, "type": "User"},
                     "html_url": f"{self.web}/{gh.full_name}",
                     "url": f"{self.api}/repos/{gh.full_name}", "clone_url":
                     self.git_url(gh.full_name), "default_branch": gh.default_branch,
                     "size": 0 if gh.empty else 1, "fork": False, "archived": False,
                     "disabled": False, "permissions": {
                         "admin": req.user not in self.read_only_logins,
                         "push": req.user not in self.read_only_logins, "pull": True}}

    def _get_branch(self, req, owner, name, branch):
        gh = self._repo(owner, name)
        sha = gitrepo.branch_sha(gh.repo, branch)
        if sha is None:
            raise HttpError(404, {"message": "Branch not found", "documentation_url": DOCS})
        url = f"{self.api}/repos/{gh.full_name}/branches/{branch}"
        commit = self._commit_json(gh, sha)
        return 200, {"name": branch, "commit": {
            "sha": sha, "node_id": commit["node_id"], "url": commit["url"],
            "html_url": commit["html_url"], "parents": commit["parents"],
            "commit": {k: commit[k] for k in ("author", "committer", "message", "tree", "url")}},
            "_links": {"self": url, "html": f"{self.web}/{gh.full_name}/tree/{branch}"},
            "protected": False, "protection": {"enabled": False},
            "protection_url": url + "/protection"}

    def _smart(self, req, owner, name):
        gh = self.repos.get(f"{owner}/{name}")
        if gh is None:
            return 404, b"Repository not found.\n", {"Content-Type": "text/plain"}
        action = req.url.split("?")[0].rsplit("/", 2)
        action = "info/refs" if action[-1] == "refs" else action[-1]
        return smart_http.serve(gh.repo, req.raw, action)
