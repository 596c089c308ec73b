"""The SDK and the CLI against a live server (pytest-django's live_server) and a real worker."""

import pytest

from coregit_client import Client
from tests.sync.conftest import git_config, git_remote, repo  # noqa: F401 - shared fixtures


@pytest.fixture
def client(live_server, master_key):
    with Client(live_server.url, master_key) as c:
        yield c
