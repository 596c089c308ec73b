import pytest
from rest_framework.test import APIClient

from tests.fakes.github import FakeGitHub
from tests.support.api_world import GOOD_TOKEN, build_world, openapi_document, operations


@pytest.fixture(scope="session")
def document():
    return openapi_document()


@pytest.fixture(scope="session")
def all_operations(document):
    return operations(document)


@pytest.fixture
def provider(db, tmp_path):
    """The stateful GitHub fake: ``GET /user`` for the good token only, and the remotes the
    world's configs name (a new config's remote is checked with the provider). Any call the fake
    does not know fails the test."""
    fake = FakeGitHub(tmp_path / "github")
    fake.add_token(GOOD_TOKEN)
    for remote in ("octocat/my-repo", "octocat/other"):
        fake.create_repo(remote, empty=False)
    with fake.mock() as mock:
        yield mock


@pytest.fixture
def world(db, provider):
    return build_world()


@pytest.fixture
def client(world):
    c = APIClient()
    c.credentials(HTTP_X_API_KEY=world.master_key)
    return c
