"""Checking a sync config against its remote before it is stored, as connections check tokens.

The remote must exist, the credential must read it, and push to it for an export; an import must
name a branch the remote has (unless the remote is still empty). Failures the user can fix answer
422 with the provider's reason; a provider that failed or could not be reached answers 502.
"""

from __future__ import annotations

from connections.clients import PROVIDER_NAMES, connection_client
from connections.credential_services import git_credential_for_repo
from connections.providers.git_http import GitHttpClient
from core.errors import RefNotFound, RemoteAccessDenied
from core.netguard import pinned_session
from sync.models import SyncConfig


def _check_git(config: SyncConfig) -> None:
    cred = git_credential_for_repo(repo=config.repository)
    username, password = cred if cred else ("", "")
    client = GitHttpClient(config.remote, username=username, password=password,
                           session=pinned_session())
    advertised = client.advertise(write=config.direction == "export")
    if config.direction == "import" and advertised.refs and \
            advertised.has_branch(config.branch) is False:
        raise RefNotFound(f"{client.display} has no branch '{config.branch}'")


def _check_api(config: SyncConfig) -> None:
    client = connection_client(config.connection)
    name = PROVIDER_NAMES[config.provider]
    access = client.get_repo_access(config.remote)
    if config.direction == "export" and access.can_push is False:
        raise RemoteAccessDenied(f"The {name} credential can read {config.remote} but cannot "
                                 f"push to it; an export needs write access")
    if config.direction == "import" and not access.empty and \
            client.get_branch_sha(config.remote, config.branch) is None:
        raise RefNotFound(f"{name} repository {config.remote} has no branch '{config.branch}'")


def sync_remote_verify(*, config: SyncConfig) -> None:
    """Raise a ``ProviderError`` unless the config's remote, branch and access are usable."""
    if config.provider == SyncConfig.Provider.GIT:
        _check_git(config)
    else:
        _check_api(config)
