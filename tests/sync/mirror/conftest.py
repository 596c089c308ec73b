import pytest

from sync.models import SyncConfig
from tests.sync.conftest import PASSWORD, USER


@pytest.fixture
def mirror_config(api, repo, git_remote):
    """A mirror import config for the real `git http-backend` remote: main + release/*, tags."""
    cred = api.post("/v1/repos/git-credentials",
                    {"repo_id": repo.id, "username": USER, "password": PASSWORD}, format="json")
    assert cred.status_code == 201
    made = api.post("/v1/repos/app/sync/config", {
        "remote": git_remote.url, "mode": "mirror", "branches": ["main", "release/*"],
        "tags": True}, format="json")
    assert made.status_code == 201, made.json()
    assert SyncConfig.objects.get().mode == "mirror"
    return made.json()

