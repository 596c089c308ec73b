"""Driving the real ``git`` CLI in tests, isolated from the user's configuration."""

import os
import subprocess
from pathlib import Path


def git_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        HOME=str(home), GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0",
        GIT_AUTHOR_NAME="Tester", GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="Tester", GIT_COMMITTER_EMAIL="t@example.com",
    )
    return env


def git(*args: str, cwd: Path | None = None, home: Path, check: bool = True,
        input: bytes | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "protocol.version=2", *args],
        cwd=cwd, env=git_env(home), capture_output=True, input=input, timeout=900,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"git {' '.join(args)} failed ({result.returncode}): {result.stderr.decode()}"
        )
    return result


def authed_url(base: str, key: str, path: str) -> str:
    scheme, rest = base.split("://", 1)
    return f"{scheme}://git:{key}@{rest}/{path}"
