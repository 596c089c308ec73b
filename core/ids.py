"""Prefixed random identifiers (``repo_3f9a…``) as the API exposes them."""

import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"
