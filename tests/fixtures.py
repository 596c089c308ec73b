"""Shared fixtures: organizations, keys, API clients."""

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def org_and_key(db):
    from accounts.services import org_create

    return org_create(name="Acme")


@pytest.fixture
def org(org_and_key):
    return org_and_key[0]


@pytest.fixture
def master_key(org_and_key):
    return org_and_key[1]


@pytest.fixture
def api(master_key):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=master_key)
    return client


@pytest.fixture
def make_client():
    def make(key: str | None, *, bearer: bool = False) -> APIClient:
        client = APIClient()
        if key and bearer:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        elif key:
            client.credentials(HTTP_X_API_KEY=key)
        return client

    return make


@pytest.fixture
def scoped_key(org):
    from accounts.services import api_key_create

    def make(scopes: dict) -> str:
        return api_key_create(org=org, name="scoped", scopes=scopes)[1]

    return make
