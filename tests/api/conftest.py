import pytest
import responses
from rest_framework.test import APIClient

from tests.support.api_world import GOOD_TOKEN, build_world, openapi_document, operations


@pytest.fixture(scope="session")
def document():
    return openapi_document()


@pytest.fixture(scope="session")
def all_operations(document):
    return operations(document)


@pytest.fixture
def provider(db):
    """GitHub's ``GET /user`` (good token only); every other outgoing call fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        def user(request):
            ok = request.headers.get("Authorization", "").endswith(GOOD_TOKEN)
            return (200, {}, '{"login": "octocat", "id": 1}') if ok else (
                401, {}, '{"message": "Bad credentials"}')

        mock.add_callback("GET", "https://api.github.com/user", callback=user)
        yield mock


@pytest.fixture
def world(db, provider):
    return build_world()


@pytest.fixture
def client(world):
    c = APIClient()
    c.credentials(HTTP_X_API_KEY=world.master_key)
    return c
