"""Shape checks for unauthenticated webhook input, done before anything that could fail on it.

Every function here answers ``None`` (or raises ``BadPayload``) for input it does not like; none
of them may raise anything else, so a hostile body becomes a 4xx and never a logged traceback.
"""

from __future__ import annotations

import json
import re

MAX_DEPTH = 32  # real push payloads nest about 5 deep
MAX_HEADER = 128
MAX_NAME = 1000  # SyncConfig.remote's length
_STRINGS = re.compile(rb'"(?:[^"\\]++|\\.)*+"')
_BRACKETS = re.compile(rb"[\[\]{}]")
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_PRINTABLE = re.compile(r"[\x21-\x7e]+")


class BadPayload(Exception):
    """A signed payload whose fields do not have the shape the provider documents."""


def _too_deep(body: bytes) -> bool:
    depth = 0
    for match in _BRACKETS.finditer(_STRINGS.sub(b"", body)):
        depth += 1 if match.group() in (b"[", b"{") else -1
        if depth > MAX_DEPTH:
            return True
    return False


def parse_object(body: bytes) -> dict | None:
    """The body as a JSON object, or None: not UTF-8, not JSON, too deep, or not an object."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\x00" in text or _too_deep(body):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def clean_header(value: str, limit: int = MAX_HEADER) -> str | None:
    """A delivery id or event name: printable ASCII without spaces, at most ``limit`` long."""
    if not value or len(value) > limit or not _PRINTABLE.fullmatch(value):
        return None
    return value


def event_header(value: str) -> str | None:
    """Event names may hold spaces (GitLab's ``Push Hook``)."""
    if not value:
        return ""
    if len(value) > 64 or not all(" " <= ch <= "~" for ch in value):
        return None
    return value


def repository_name(payload: dict | None, key: str, field: str) -> str | None:
    holder = payload.get(key) if payload else None
    name = holder.get(field) if isinstance(holder, dict) else None
    if not isinstance(name, str) or not name or len(name) > MAX_NAME or "\x00" in name:
        return None
    return name


def text_field(payload: dict, key: str, *, required: bool = False) -> str:
    value = payload.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or len(value) > 1024 or "\x00" in value:
        raise BadPayload(f"'{key}' must be a string")
    return value


def sha_field(payload: dict, key: str) -> str:
    value = text_field(payload, key)
    if value and not _SHA.fullmatch(value):
        raise BadPayload(f"'{key}' must be a commit sha")
    return value
