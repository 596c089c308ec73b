"""Names users choose: repository slugs, namespaces and branch names."""

import re

from dulwich.refs import check_ref_format

SLUG_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,98}[a-z0-9])?$")
# Words that would collide with routes (``/v1/repos/git-credentials``, ``/v1/repos/x/sync``) or
# with the git URL space.
RESERVED = frozenset(
    {"api", "v1", "admin", "static", "healthz", "docs", "openapi", "sync", "history", "config",
     "git-credentials", "keys", "repos", "connections", "sync-webhooks", "info", "objects",
     "hooks", "new", "settings", "login", "logout"}
)


def slug_error(value: str, what: str = "slug") -> str | None:
    if not isinstance(value, str) or not SLUG_RE.fullmatch(value):
        return (f"{what} must be 1-100 characters of lowercase letters, digits and dashes, "
                "starting and ending with a letter or digit")
    if value in RESERVED:
        return f"{what} '{value}' is reserved"
    return None


def branch_error(value: str) -> str | None:
    if not value or len(value) > 255 or not check_ref_format(b"refs/heads/" + value.encode()):
        return f"'{value}' is not a valid branch name"
    return None
