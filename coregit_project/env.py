"""Reading settings from the environment, with one-line errors for what is missing."""

import os
import sys

TRUE_WORDS = {"1", "true", "yes", "on"}


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in TRUE_WORDS


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default) or default


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def require(name: str, reason: str) -> str:
    """Return the variable or stop the process with a one-line message naming it."""
    value = os.environ.get(name, "")
    if not value:
        sys.stderr.write(f"coregit: {name} is not set ({reason})\n")
        raise SystemExit(2)
    return value
