"""GitLab endpoints the reference subset does not describe (so no OpenAPI check here):
GET /projects/:id/repository/commits/:sha and POST /projects/:id/repository/branches."""

import json

import pytest
import responses

from connections.providers.gitlab import GitLabClient
from core.errors import ProviderNotFound, ProviderRejected

PROJECT = "https://gitlab.com/api/v4/projects/group%2Fsub%2Fproject"


@pytest.fixture
def rsps():
    with responses.RequestsMock() as mock:
        yield mock


def test_get_commit(rsps):
    rsps.get(f"{PROJECT}/repository/commits/abc123", json={
        "id": "abc123", "message": "Sync\n\nCoregit-Sync-Local-Sha: ff\n",
        "parent_ids": ["p1"], "title": "Sync"})
    commit = GitLabClient("glpat").get_commit("group/sub/project", "abc123")
    assert (commit.sha, commit.parents, commit.tree) == ("abc123", ("p1",), "")
    assert "Coregit-Sync-Local-Sha: ff" in commit.message


def test_get_commit_missing(rsps):
    rsps.get(f"{PROJECT}/repository/commits/nope", status=404,
             json={"message": "404 Commit Not Found"})
    with pytest.raises(ProviderNotFound):
        GitLabClient("glpat").get_commit("group/sub/project", "nope")


def test_create_branch(rsps):
    rsps.post(f"{PROJECT}/repository/branches", status=201,
              json={"name": "feature", "commit": {"id": "c0ffee"}})
    assert GitLabClient("glpat").create_branch("group/sub/project", "feature", "main") == "c0ffee"
    assert json.loads(rsps.calls[0].request.body) == {"branch": "feature", "ref": "main"}


def test_create_branch_that_exists(rsps):
    rsps.post(f"{PROJECT}/repository/branches", status=400,
              json={"message": "Branch already exists"})
    with pytest.raises(ProviderRejected, match="Branch already exists"):
        GitLabClient("glpat").create_branch("group/sub/project", "feature", "main")
