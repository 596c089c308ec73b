import pytest
from dulwich.repo import Repo

from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import FakeGitLab
from tests.fakes.requests_git_client import RequestsHttpGitClient


@pytest.fixture
def gh(tmp_path):
    fake = FakeGitHub(tmp_path)
    fake.add_token("ghp_good")
    with fake.mock():
        yield fake
    fake.close()


@pytest.fixture
def gl(tmp_path):
    fake = FakeGitLab(tmp_path)
    fake.add_token("glpat-good")
    with fake.mock():
        yield fake
    fake.close()


def fetch(url, path, *, username, password, depth=None):
    """Fetch every ref over smart HTTP into a new local bare repo; return (repo, result)."""
    local = Repo.init_bare(str(path), mkdir=True)
    client = RequestsHttpGitClient(url, username=username, password=password)
    result = client.fetch("", local, depth=depth)
    for ref, sha in result.refs.items():
        if ref.startswith(b"refs/heads/"):
            local.refs[ref] = sha
    return local, result
