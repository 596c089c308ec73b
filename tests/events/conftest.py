import pytest

from tests.events.receiver import serve_receiver
from tests.sync.conftest import git_config, git_remote, repo  # noqa: F401 - shared fixtures


@pytest.fixture
def receiver():
    with serve_receiver() as r:
        yield r
