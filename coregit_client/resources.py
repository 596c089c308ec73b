"""Connections, git credentials and repositories (seeds connections-api / git-credentials-api)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from coregit_client.models import Connection, ConnectionTest, GitCredential, Repo

if TYPE_CHECKING:
    from coregit_client.client import Client


def repo_path(slug: str) -> str:
    """``app`` or ``team/app`` (namespace/slug) as an API path."""
    return f"repos/{slug.strip('/')}"


def pages(client: Client, path: str, key: str, *, limit: int = 100,
          params: dict[str, Any] | None = None) -> Iterator[dict]:
    """Every item of a cursor-paginated listing, fetching pages as the caller iterates."""
    cursor = None
    while True:
        _, body = client._request("GET", path, params={**(params or {}), "limit": limit,
                                                       "cursor": cursor})
        yield from body[key]
        cursor = body.get("next_cursor")
        if not cursor:
            return


class Connections:
    def __init__(self, client: Client) -> None:
        self._c = client

    def create(self, *, provider: str, label: str, access_token: str | None = None,
               host: str | None = None, method: str | None = None, **extra: Any) -> Connection:
        body = {"provider": provider, "label": label, "access_token": access_token,
                "host": host, "method": method, **extra}
        _, data = self._c._request("POST", "connections",
                                   json={k: v for k, v in body.items() if v is not None})
        return Connection.from_dict(data)

    def list(self) -> list[Connection]:
        _, data = self._c._request("GET", "connections")
        return [Connection.from_dict(c) for c in data["connections"]]

    def update(self, connection_id: str, *, label: str | None = None,
               access_token: str | None = None) -> bool:
        body = {k: v for k, v in {"label": label, "access_token": access_token}.items() if v}
        _, data = self._c._request("PATCH", f"connections/{connection_id}", json=body)
        return bool(data.get("updated"))

    def test(self, connection_id: str) -> ConnectionTest:
        _, data = self._c._request("POST", f"connections/{connection_id}/test")
        return ConnectionTest.from_dict(data)

    def delete(self, connection_id: str) -> bool:
        _, data = self._c._request("DELETE", f"connections/{connection_id}")
        return bool(data.get("deleted"))


class Credentials:
    """One HTTPS credential per repository, for generic git remotes."""

    PATH = "repos/git-credentials"

    def __init__(self, client: Client) -> None:
        self._c = client

    def create(self, *, repo_id: str, password: str, username: str | None = None
               ) -> GitCredential:
        body = {"repo_id": repo_id, "password": password, "username": username}
        _, data = self._c._request("POST", self.PATH,
                                   json={k: v for k, v in body.items() if v is not None})
        return GitCredential.from_dict(data)

    def update(self, credential_id: str, *, password: str, username: str | None = None
               ) -> GitCredential:
        body = {"id": credential_id, "password": password, "username": username}
        _, data = self._c._request("PUT", self.PATH,
                                   json={k: v for k, v in body.items() if v is not None})
        return GitCredential.from_dict(data)

    def delete(self, credential_id: str) -> None:
        self._c._request("DELETE", self.PATH, json={"id": credential_id})


class Repos:
    def __init__(self, client: Client) -> None:
        self._c = client

    def create(self, slug: str, *, namespace: str | None = None, default_branch: str | None = None,
               description: str | None = None) -> Repo:
        body = {"slug": slug, "namespace": namespace, "default_branch": default_branch,
                "description": description}
        _, data = self._c._request("POST", "repos",
                                   json={k: v for k, v in body.items() if v is not None})
        return Repo.from_dict(data)

    def list(self, *, page_size: int = 100) -> Iterator[Repo]:
        return (Repo.from_dict(r) for r in pages(self._c, "repos", "repos", limit=page_size))

    def get(self, slug: str) -> Repo:
        _, data = self._c._request("GET", repo_path(slug))
        return Repo.from_dict(data)

    def delete(self, slug: str) -> bool:
        _, data = self._c._request("DELETE", repo_path(slug))
        return bool(data.get("deleted"))
