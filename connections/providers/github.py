"""GitHub REST client (github.com and GitHub Enterprise Server): one short method per endpoint."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from connections.providers import streaming
from connections.providers.base import (
    GitAccess,
    Hook,
    LazyBlob,
    ProviderUser,
    RemoteCommit,
    RemoteRepo,
    RemoteTree,
    RemoteTreeEntry,
    RepoAccess,
)
from connections.providers.http import TokenClient, normalize_host
from core.errors import ProviderNotFound, ProviderRejected, RemoteNotFound

GITHUB_API = "https://api.github.com"
GITHUB_WEB = "https://github.com"
GITHUB_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
_CLOUD_HOSTS = {"github.com", "www.github.com", "api.github.com"}



def github_bases(host: str | None) -> tuple[str, str]:
    """(API base, web/git base) for github.com or an Enterprise Server web URL."""
    if not host:
        return GITHUB_API, GITHUB_WEB
    web = normalize_host(host)
    if urlsplit(web).netloc.lower() in _CLOUD_HOSTS:
        return GITHUB_API, GITHUB_WEB
    return f"{web}/api/v3", web


def split_remote(remote: str) -> tuple[str, str]:
    owner, _, repo = remote.strip("/").partition("/")
    if not owner or not repo or "/" in repo:
        raise ValueError(f"GitHub remote must be 'owner/repo', got {remote!r}")
    return owner, repo


def qualify_ref(ref: str) -> str:
    """``main`` / ``heads/main`` / ``refs/heads/main`` -> ``refs/heads/main``; tags likewise."""
    if ref.startswith("refs/"):
        return ref
    if ref.startswith(("heads/", "tags/")):
        return f"refs/{ref}"
    return f"refs/heads/{ref}"


@dataclass(frozen=True)
class RateLimit:
    limit: int
    remaining: int
    reset: int  # epoch seconds


class GitHubClient(TokenClient):
    provider_name = "GitHub"

    bases = staticmethod(github_bases)

    def _default_headers(self) -> dict[str, str]:
        return dict(GITHUB_HEADERS)

    @staticmethod
    def _repo(remote: str) -> str:
        owner, repo = split_remote(remote)
        return f"/repos/{quote(owner, safe='')}/{quote(repo, safe='')}"

    def _get(self, path: str, **params: Any) -> Any:
        return self._json(self._request("GET", path, params=params or None))

    def _post(self, path: str, body: dict, *, expected: tuple[int, ...] = (201,)) -> Any:
        return self._json(self._request("POST", path, json=body, expected=expected))

    # --- account and repository ------------------------------------------------------------------
    def get_user(self) -> ProviderUser:
        return ProviderUser(username=self._get("/user")["login"])

    def get_repo(self, remote: str) -> RemoteRepo:
        """``empty`` is decided by the default branch ref: GitHub reports a ``default_branch`` even
        for a repository with no commits, and ``size`` lags behind pushes, so when ``size`` is 0
        one more call checks whether the default branch exists."""
        data = self._repo_data(remote)
        branch = data.get("default_branch") or None
        empty = not branch or (not data.get("size") and self.get_branch_sha(remote, branch) is None)
        return RemoteRepo(
            full_name=data.get("full_name") or remote, default_branch=branch, empty=empty
        )

    def _repo_data(self, remote: str) -> dict:
        try:
            return self._get(self._repo(remote))
        except ProviderNotFound as exc:
            raise RemoteNotFound(f"GitHub has no repository '{remote}', or the token cannot "
                                 f"see it ({exc.message})", status=404) from None

    def get_repo_access(self, remote: str) -> RepoAccess:
        """``permissions.push`` of ``GET /repos/{owner}/{repo}``; a 404 means the repository does
        not exist or the token cannot see it (GitHub does not tell the two apart)."""
        data = self._repo_data(remote)
        perms = data.get("permissions")
        push = perms.get("push") if isinstance(perms, dict) else None
        branch = data.get("default_branch") or None
        empty = not branch or (not data.get("size") and self.get_branch_sha(remote, branch) is None)
        return RepoAccess(full_name=data.get("full_name") or remote, empty=empty,
                          can_push=push if isinstance(push, bool) else None)

    def git_access(self, remote: str) -> GitAccess:
        owner, repo = split_remote(remote)
        return GitAccess(
            url=f"{self.web_base}/{owner}/{repo}.git",
            username="x-access-token",
            password=self._token(),
        )

    def get_rate_limit(self) -> RateLimit:
        core = self._get("/rate_limit")["resources"]["core"]
        return RateLimit(limit=core["limit"], remaining=core["remaining"], reset=core["reset"])

    # --- git data: reads -------------------------------------------------------------------------
    def get_branch_sha(self, remote: str, branch: str) -> str | None:
        """Head sha of ``branch``; None when the branch is missing or the repository is empty
        (GitHub answers 409 "Git Repository is empty")."""
        path = f"{self._repo(remote)}/git/ref/heads/{quote(branch, safe='/')}"
        try:
            data = self._get(path)
        except ProviderNotFound:
            return None
        except ProviderRejected as exc:
            if exc.status == 409:
                return None
            raise
        return data["object"]["sha"]

    def get_commit(self, remote: str, sha: str) -> RemoteCommit:
        return _commit(self._get(f"{self._repo(remote)}/git/commits/{quote(sha, safe='')}"))

    def get_tree(self, remote: str, sha: str, *, recursive: bool = False) -> RemoteTree:
        path = f"{self._repo(remote)}/git/trees/{quote(sha, safe='/')}"
        data = self._get(path, **({"recursive": "1"} if recursive else {}))
        entries = [
            RemoteTreeEntry(path=e["path"], mode=e["mode"], type=e["type"], sha=e["sha"])
            for e in data.get("tree", [])
        ]
        return RemoteTree(sha=data["sha"], entries=entries, truncated=bool(data.get("truncated")))

    # --- git data: writes ------------------------------------------------------------------------
    def create_blob(self, remote: str, content: bytes | LazyBlob) -> str:
        """Base64 body streamed from ``content`` (read only now when it is a ``LazyBlob``)."""
        body = streaming.Body(lambda: streaming.json_object(
            {}, streaming.content_member(content, text_encoding=None)))
        resp = self._request("POST", f"{self._repo(remote)}/git/blobs", stream_json=body,
                             expected=(201,))
        return self._json(resp)["sha"]

    def create_tree(self, remote: str, entries: list[dict], *, base_tree: str | None) -> str:
        body: dict[str, Any] = {"tree": entries}
        if base_tree:
            body["base_tree"] = base_tree
        return self._post(f"{self._repo(remote)}/git/trees", body)["sha"]

    def create_commit(
        self, remote: str, *, message: str, tree: str, parents: list[str]
    ) -> RemoteCommit:
        body = {"message": message, "tree": tree, "parents": list(parents)}
        return _commit(self._post(f"{self._repo(remote)}/git/commits", body))

    def create_ref(self, remote: str, ref: str, sha: str) -> None:
        self._post(f"{self._repo(remote)}/git/refs", {"ref": qualify_ref(ref), "sha": sha})

    def update_ref(self, remote: str, ref: str, sha: str, *, force: bool = False) -> None:
        """A non-fast-forward update without ``force`` raises ProviderRejected (status 422)."""
        short = qualify_ref(ref).removeprefix("refs/")
        path = f"{self._repo(remote)}/git/refs/{quote(short, safe='/')}"
        self._request("PATCH", path, json={"sha": sha, "force": force})

    def put_contents(
        self, remote: str, path: str, *, content: bytes, message: str, branch: str
    ) -> RemoteCommit:
        """Create one file through the contents API (the only write an empty repository takes)."""
        body = {
            "message": message,
            "content": base64.b64encode(content).decode("ascii"),
            "branch": branch,
        }
        url = f"{self._repo(remote)}/contents/{quote(path.lstrip('/'), safe='/')}"
        data = self._json(self._request("PUT", url, json=body, expected=(200, 201)))
        return _commit(data["commit"])

    # --- webhooks --------------------------------------------------------------------------------
    def create_hook(self, remote: str, *, url: str, secret: str, branch: str,
                    tags: bool = False) -> Hook:
        """Push hook; GitHub cannot filter by branch, so ``branch`` is checked on receipt (tag
        pushes are push events too)."""
        body = {
            "name": "web",
            "active": True,
            "events": ["push"],
            "config": {"url": url, "content_type": "json", "secret": secret, "insecure_ssl": "0"},
        }
        data = self._post(f"{self._repo(remote)}/hooks", body)
        return Hook(id=int(data["id"]), url=data.get("config", {}).get("url", url))

    def delete_hook(self, remote: str, hook_id: int) -> None:
        """Idempotent: a hook that is already gone (404) counts as deleted."""
        try:
            self._request("DELETE", f"{self._repo(remote)}/hooks/{int(hook_id)}", expected=(204,))
        except ProviderNotFound:
            return

    def list_hooks(self, remote: str) -> list[Hook]:
        items = self._paginate(f"{self._repo(remote)}/hooks", params={"per_page": 100})
        return [Hook(id=int(h["id"]), url=h.get("config", {}).get("url", "")) for h in items]


def _commit(data: dict) -> RemoteCommit:
    return RemoteCommit(
        sha=data["sha"],
        tree=data["tree"]["sha"],
        parents=tuple(p["sha"] for p in data.get("parents", [])),
        message=data.get("message") or "",
    )
