"""GitLab REST v4 client (gitlab.com and self-managed): one short method per endpoint.

Projects are addressed by their URL-encoded full path (``group%2Fsub%2Fproject``), which GitLab
accepts everywhere a numeric project id is.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from connections.providers import streaming
from connections.providers.base import (
    GitAccess,
    Hook,
    LazyBlob,
    ProviderUser,
    RemoteCommit,
    RemoteRepo,
    RemoteTreeEntry,
    RepoAccess,
)
from connections.providers.http import TokenClient, normalize_host
from core.errors import ProviderNotFound, RemoteNotFound

GITLAB_WEB = "https://gitlab.com"
DEVELOPER = 30  # the lowest access level that may push



def gitlab_bases(host: str | None) -> tuple[str, str]:
    """(API base, web/git base) for gitlab.com or a self-managed instance's web URL."""
    web = normalize_host(host) if host else GITLAB_WEB
    return f"{web}/api/v4", web


def project_path(remote: str) -> str:
    path = remote.strip("/")
    if "/" not in path or "" in path.split("/"):
        raise ValueError(
            f"GitLab remote must be 'group/project' (subgroups allowed), got {remote!r}"
        )
    return path


class GitLabClient(TokenClient):
    provider_name = "GitLab"

    bases = staticmethod(gitlab_bases)

    def _default_headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}

    @staticmethod
    def _project(remote: str) -> str:
        return f"/projects/{quote(project_path(remote), safe='')}"

    def _get(self, path: str, **params: Any) -> Any:
        return self._json(self._request("GET", path, params=params or None))

    # --- account and project ---------------------------------------------------------------------
    def get_user(self) -> ProviderUser:
        return ProviderUser(username=self._get("/user")["username"])

    def _project_data(self, remote: str) -> dict:
        try:
            return self._get(self._project(remote))
        except ProviderNotFound as exc:
            raise RemoteNotFound(f"GitLab has no project '{remote}', or the token cannot see it "
                                 f"({exc.message})", status=404) from None

    def get_repo(self, remote: str) -> RemoteRepo:
        data = self._project_data(remote)
        return RemoteRepo(
            full_name=data.get("path_with_namespace") or project_path(remote),
            default_branch=data.get("default_branch") or None,
            empty=bool(data.get("empty_repo")),
            project_id=data.get("id"),
        )

    def get_repo_access(self, remote: str) -> RepoAccess:
        """Developer (30) or higher on the project or its group may push; GitLab omits
        ``permissions`` for some tokens, and then nothing is known."""
        data = self._project_data(remote)
        perms = data.get("permissions")
        levels = [(perms.get(k) or {}).get("access_level") for k in
                  ("project_access", "group_access")] if isinstance(perms, dict) else []
        levels = [lvl for lvl in levels if isinstance(lvl, int)]
        return RepoAccess(
            full_name=data.get("path_with_namespace") or project_path(remote),
            empty=bool(data.get("empty_repo")),
            can_push=max(levels) >= DEVELOPER if levels else None,
        )

    def git_access(self, remote: str) -> GitAccess:
        return GitAccess(
            url=f"{self.web_base}/{project_path(remote)}.git",
            username="oauth2",
            password=self._token(),
        )

    # --- repository ------------------------------------------------------------------------------
    def get_branch_sha(self, remote: str, branch: str) -> str | None:
        path = f"{self._project(remote)}/repository/branches/{quote(branch, safe='')}"
        try:
            data = self._get(path)
        except ProviderNotFound:
            return None
        return data["commit"]["id"]

    def get_commit(self, remote: str, sha: str) -> RemoteCommit:
        """One commit (``tree`` is empty: GitLab's commit entity carries no tree id)."""
        data = self._get(f"{self._project(remote)}/repository/commits/{quote(sha, safe='')}")
        return _commit(data)

    def create_branch(self, remote: str, branch: str, ref: str) -> str:
        """Create ``branch`` at ``ref`` (a sha or branch name); returns the new branch's head."""
        body = {"branch": branch, "ref": ref}
        resp = self._request(
            "POST", f"{self._project(remote)}/repository/branches", json=body, expected=(201,)
        )
        return self._json(resp)["commit"]["id"]

    def get_tree(self, remote: str, ref: str) -> list[RemoteTreeEntry]:
        """Every entry of ``ref``'s tree, recursively (keyset pagination, 100 per page)."""
        params = {"ref": ref, "recursive": "true", "per_page": 100, "pagination": "keyset"}
        items = self._paginate(f"{self._project(remote)}/repository/tree", params=params)
        return [
            RemoteTreeEntry(path=e["path"], mode=e["mode"], type=e["type"], sha=e["id"])
            for e in items
        ]

    def create_commit(
        self,
        remote: str,
        *,
        branch: str,
        message: str,
        actions: list[dict],
        start_sha: str | None = None,
        force: bool = False,
    ) -> RemoteCommit:
        """One commit from ``actions``. GitLab's commit entity carries no tree id, so the result's
        ``tree`` is empty; callers needing it compare trees with :meth:`get_tree`.

        An action's ``content`` may be a :class:`LazyBlob`: it is read while the body streams
        out, one file at a time, and sent as text when it is UTF-8 without NUL, else base64."""
        body: dict[str, Any] = {"branch": branch, "commit_message": message}
        if start_sha:
            body["start_sha"] = start_sha
        if force:
            body["force"] = True
        stream = streaming.Body(lambda: streaming.json_object(body, _actions_member(actions)))
        resp = self._request("POST", f"{self._project(remote)}/repository/commits",
                             stream_json=stream, expected=(201,))
        return _commit(self._json(resp))

    # --- webhooks --------------------------------------------------------------------------------
    def create_hook(self, remote: str, *, url: str, secret: str, branch: str,
                    tags: bool = False) -> Hook:
        """``branch`` "" means every branch (mirror mode filters on receipt); ``tags`` adds tag
        push events."""
        body = {
            "url": url,
            "token": secret,
            "push_events": True,
            "push_events_branch_filter": branch,
            "enable_ssl_verification": True,
        }
        if tags:
            body["tag_push_events"] = True
        resp = self._request("POST", f"{self._project(remote)}/hooks", json=body, expected=(201,))
        data = self._json(resp)
        return Hook(id=int(data["id"]), url=data.get("url", url))

    def delete_hook(self, remote: str, hook_id: int) -> None:
        """Idempotent: a hook that is already gone (404) counts as deleted."""
        try:
            self._request(
                "DELETE", f"{self._project(remote)}/hooks/{int(hook_id)}", expected=(200, 204)
            )
        except ProviderNotFound:
            return


def _actions_member(actions: list[dict]):
    yield b'"actions": '
    yield from streaming.json_array(_action(a) for a in actions)


def _action(action: dict):
    content = action.get("content")
    if not isinstance(content, LazyBlob):
        yield json.dumps(action).encode()
        return
    rest = {k: v for k, v in action.items() if k not in ("content", "encoding")}
    yield from streaming.json_object(rest, streaming.content_member(content, text_encoding="text"))


def _commit(data: dict) -> RemoteCommit:
    return RemoteCommit(
        sha=data["id"],
        tree="",
        parents=tuple(data.get("parent_ids") or ()),
        message=data.get("message") or "",
    )
