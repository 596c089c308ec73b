"""What the export benchmarks (bench/export_memory.py, bench/export_scale.py) share: the provider
fakes they export to, the client of the worker process, and the worker's command-line flags.

Standard library only at import time: the worker process's RSS floor must not grow with it, and
the provider code is imported inside the functions, after a worker has chosen its code root.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BOUND_MB = 300  # peak worker RSS an export must stay under
TOKEN = {"github": "ghp_bench", "gitlab": "glpat-bench"}


def fake_factory(provider: str, root: str, *remotes: str) -> Callable[[str], Any]:
    """``make(host)`` for ``serve_fake``: a GitHub or GitLab fake under ``root`` that accepts
    TOKEN and holds each of ``remotes``, empty."""
    from tests.fakes.github import FakeGitHub
    from tests.fakes.gitlab import FakeGitLab

    def make(host: str):
        fake = (FakeGitHub if provider == "github" else FakeGitLab)(root, host=host)
        # No waits for GitHub's secondary limit: export_scale computes them, export_memory does
        # not measure them.
        fake.content_limit = 10**9
        fake.add_token(TOKEN[provider])
        for remote in remotes:
            fake.create_repo(remote, empty=True)
        return fake

    return make


def client_for(provider: str, host: str):
    """The worker's provider client for the fake at ``host``."""
    from connections.providers.github import GitHubClient
    from connections.providers.gitlab import GitLabClient

    return (GitHubClient if provider == "github" else GitLabClient)(TOKEN[provider], host=host)


def add_worker_args(ap: argparse.ArgumentParser) -> None:
    """The flags the benchmark passes to its own worker process (not for a user to set)."""
    ap.add_argument("--worker", action="store_true")
    ap.add_argument("--provider")
    ap.add_argument("--host")
    ap.add_argument("--local")
