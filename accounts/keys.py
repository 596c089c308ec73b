"""API key material and scope rules (Django-free).

Keys are 256-bit random tokens, so an unsalted SHA-256 digest is enough to store them: there is
nothing to brute-force. Scopes are ``{"repos:*": ["read", "write"], "repos:ns/slug": ["read"]}``;
write implies read.
"""

import hashlib
import re
import secrets

KEY_PREFIX = "cgk_"
PERMISSIONS = ("read", "write")
_SCOPE_RE = re.compile(r"^repos:(\*|[a-z0-9][a-z0-9-]{0,99}(/[a-z0-9][a-z0-9-]{0,99})?)$")


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def display_prefix(raw: str) -> str:
    return raw[:12]


def validate_scopes(scopes: object) -> dict[str, list[str]]:
    """Return normalised scopes or raise ValueError with a sentence for the user."""
    if not isinstance(scopes, dict) or not scopes:
        raise ValueError('scopes must be a non-empty object such as {"repos:*": ["read"]}')
    clean: dict[str, list[str]] = {}
    for name, perms in scopes.items():
        if not isinstance(name, str) or not _SCOPE_RE.fullmatch(name):
            raise ValueError(f"unknown scope {name!r}: use 'repos:*' or 'repos:[namespace/]slug'")
        if not isinstance(perms, list) or not perms or any(p not in PERMISSIONS for p in perms):
            raise ValueError(f"scope {name!r} must list 'read' and/or 'write'")
        clean[name] = sorted(set(perms))
    return clean


def scopes_allow(scopes: dict, repo_path: str, permission: str) -> bool:
    """Whether ``scopes`` grant ``permission`` on ``repo_path`` (``slug`` or ``ns/slug``)."""
    granted: set[str] = set()
    for name in ("repos:*", f"repos:{repo_path}"):
        granted.update(scopes.get(name, []))
    if "write" in granted:
        granted.add("read")
    return permission in granted
