"""Reading settings from the environment, with one-line errors for what is missing."""

import os
import sys
from pathlib import Path

from dotenv import load_dotenv

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


# `make run` writes these into COREGIT_DATA_DIR: its generated secrets, then the settings it runs
# with (DEBUG, database, broker...).
RUN_ENV_FILES = ("secrets.env", "run.env")


def load_run_env(data_dir: Path) -> None:
    """Fill unset variables from the files `make run` wrote; the environment always wins.

    So `manage.py` in another terminal acts on the same database as the running service without
    sourcing anything by hand.
    """
    for name in RUN_ENV_FILES:
        path = data_dir / name
        if path.is_file():
            load_dotenv(path, override=False, interpolate=False)
