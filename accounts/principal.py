"""What an authenticated request acts as: one API key of one organization."""

from dataclasses import dataclass

from accounts.keys import scopes_allow
from accounts.models import ApiKey, Organization


@dataclass(frozen=True)
class Principal:
    key: ApiKey

    is_authenticated = True

    @property
    def org(self) -> Organization:
        return self.key.org

    @property
    def is_master(self) -> bool:
        return self.key.is_master

    def can(self, repo_path: str, permission: str) -> bool:
        return self.is_master or scopes_allow(self.key.scopes or {}, repo_path, permission)
