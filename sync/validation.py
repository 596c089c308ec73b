"""Remote formats per provider: ``owner/repo``, ``group/subgroup/project``, or an https git URL."""

import re
from urllib.parse import urlsplit

from core.errors import BadRequest
from core.netguard import check_url

_GITHUB = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_GITLAB_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$")


def clean_remote(provider: str, remote: str) -> str:
    remote = (remote or "").strip()
    if provider == "github":
        remote = remote.removesuffix(".git")
        if not _GITHUB.fullmatch(remote) or remote.split("/")[1] in {".", ".."}:
            raise BadRequest(f"remote must be 'owner/repo' for GitHub (got {remote!r})")
        return remote
    if provider == "gitlab":
        remote = remote.removesuffix(".git")
        parts = remote.split("/")
        if len(parts) < 2 or not all(_GITLAB_SEGMENT.fullmatch(p) for p in parts):
            raise BadRequest(
                f"remote must be 'group/project' or 'group/subgroup/project' for GitLab "
                f"(got {remote!r})"
            )
        return remote
    parts = urlsplit(remote)
    if parts.query or parts.fragment:
        # A query (e.g. ?private_token=…) would be stored and shown in plain text: credentials
        # belong in the repository's git credential.
        raise BadRequest("remote must be a git URL without a query or fragment")
    target = check_url(remote)  # https only (http too when private hosts are allowed)
    return target.url
