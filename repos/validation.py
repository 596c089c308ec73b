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


def pushed_ref_error(name: bytes) -> str | None:
    """Why git's receive-pack would refuse to create ``name`` ("funny refname"), or None.

    As git: under ``refs/``, at least two levels below it (``refs/foo`` is refused), and
    check-ref-format's rules. Also valid UTF-8: our API and signals carry ref names as text.
    """
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        return "funny refname: not valid UTF-8"
    if not name.startswith(b"refs/"):
        return "funny refname: not under refs/"
    below = name[len(b"refs/"):]
    if b"/" not in below:
        return "funny refname: one level below refs/ (use refs/heads/..., refs/tags/...)"
    if not check_ref_format(below):
        return "funny refname"
    return None
