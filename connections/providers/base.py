"""The provider protocol: what the sync engine and the services may ask of GitHub and GitLab.

Clients return data (plain dataclasses) or raise a ``core.errors.ProviderError`` subclass; they
never return a bool for success. Provider URLs are built only inside the client modules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ProviderUser:
    username: str


@dataclass(frozen=True)
class RemoteRepo:
    full_name: str  # "owner/repo" or "group/sub/project"
    default_branch: str | None
    empty: bool
    project_id: int | None = None  # GitLab numeric id


@dataclass(frozen=True)
class RemoteCommit:
    sha: str
    tree: str  # "" when the provider does not say (GitLab)
    parents: tuple[str, ...] = ()
    message: str = field(default="", compare=False)  # filled where the provider returns it


@dataclass(frozen=True)
class RemoteTreeEntry:
    path: str
    mode: str  # "100644", "100755", "120000", "160000", "040000"
    type: str  # "blob", "tree", "commit"
    sha: str


@dataclass(frozen=True)
class RemoteTree:
    sha: str
    entries: list[RemoteTreeEntry] = field(default_factory=list)
    truncated: bool = False


@dataclass(frozen=True)
class RepoAccess:
    """What the credential may do on a remote repository (``None``: the provider did not say)."""

    full_name: str
    empty: bool
    can_push: bool | None


@dataclass(frozen=True)
class LazyBlob:
    """File content read from the object store only while its request body is being sent, so a
    change of any size is never held in memory as a whole (``size``: bytes, for batching)."""

    size: int
    read: Callable[[], bytes] = field(repr=False, compare=False)


@dataclass(frozen=True)
class Hook:
    id: int
    url: str


@dataclass(frozen=True)
class GitAccess:
    """How to reach the repository over git smart HTTP with the stored credential."""

    url: str
    username: str
    password: str

    def __repr__(self) -> str:  # never print the password
        return f"GitAccess(url={self.url!r}, username={self.username!r})"


class ProviderClient(Protocol):
    def get_user(self) -> ProviderUser: ...
    def get_repo(self, remote: str) -> RemoteRepo: ...
    def get_repo_access(self, remote: str) -> RepoAccess: ...
    def git_access(self, remote: str) -> GitAccess: ...
    def get_branch_sha(self, remote: str, branch: str) -> str | None: ...
    def create_hook(self, remote: str, *, url: str, secret: str, branch: str,
                    tags: bool = False) -> Hook: ...
    def delete_hook(self, remote: str, hook_id: int) -> None: ...


class GitHubApi(ProviderClient, Protocol):
    """Git Data API operations used by the GitHub export."""

    def get_commit(self, remote: str, sha: str) -> RemoteCommit: ...
    def get_tree(self, remote: str, sha: str, *, recursive: bool = False) -> RemoteTree: ...
    def create_blob(self, remote: str, content: bytes | LazyBlob) -> str: ...
    def create_tree(self, remote: str, entries: list[dict], *, base_tree: str | None) -> str: ...
    def create_commit(
        self, remote: str, *, message: str, tree: str, parents: list[str]
    ) -> RemoteCommit: ...
    def create_ref(self, remote: str, ref: str, sha: str) -> None: ...
    def update_ref(self, remote: str, ref: str, sha: str, *, force: bool = False) -> None: ...
    def put_contents(
        self, remote: str, path: str, *, content: bytes, message: str, branch: str
    ) -> RemoteCommit: ...


class GitLabApi(ProviderClient, Protocol):
    """Repository API operations used by the GitLab export."""

    def get_commit(self, remote: str, sha: str) -> RemoteCommit: ...
    def get_tree(self, remote: str, ref: str) -> list[RemoteTreeEntry]: ...
    def create_branch(self, remote: str, branch: str, ref: str) -> str: ...
    def create_commit(
        self,
        remote: str,
        *,
        branch: str,
        message: str,
        actions: list[dict],
        start_sha: str | None = None,
        force: bool = False,
    ) -> RemoteCommit: ...


class Pausing:
    """What every content pacer shares: sleeping through a wait (its own pacing, or a provider's
    Retry-After through ``backoff``) and counting the seconds slept in ``slept``. Subclasses set
    ``sleep`` (injectable, so tests run instantly) and ``slept``."""

    sleep: Callable[[float], None]
    slept: float

    def backoff(self, seconds: float) -> None:
        self._pause(seconds)

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self.sleep(seconds)
            self.slept += seconds
