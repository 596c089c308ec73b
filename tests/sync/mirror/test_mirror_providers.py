"""Mirror round trips through the GitHub and GitLab fakes' git smart HTTP (token auth):
import from one repository, export to another; identical refs and shas on every side."""

import pytest

from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import FakeGitLab
from tests.sync.engine.worktree import WorkTree
from tests.sync.mirror.history import (
    MATCHED,
    bare_refs,
    build_history,
    by_ref,
    local_commit_on,
    local_refs,
    trigger,
)

pytestmark = pytest.mark.django_db(transaction=True)
MIRROR = {"mode": "mirror", "branches": ["main", "release/*"], "tags": True}


def _round_trip(api, repo, fake, conn_body, src, dst, home):
    with fake.mock():
        conn = api.post("/v1/connections", conn_body, format="json").json()["id"]
        made = api.post("/v1/repos/app/sync/config", {"connection_id": conn, "remote": src,
                        **MIRROR}, format="json")
        assert made.status_code == 201, made.json()
        imported = trigger(api, made.json())
        assert imported.status_code == 200, imported.json()
        source = bare_refs(fake.repos[src].repo.path, home)
        assert set(source) == MATCHED and local_refs(repo) == source
        assert {r["status"] for r in imported.json()["refs"]} == {"created"}

        assert api.patch("/v1/repos/app/sync/config", {"direction": "export", "remote": dst},
                         format="json").status_code == 200
        exported = trigger(api, made.json())
        assert exported.status_code == 200, exported.json()
        assert bare_refs(fake.repos[dst].repo.path, home) == local_refs(repo) == source

        mine = local_commit_on(repo, b"refs/heads/release/2")
        again = trigger(api, made.json())
        assert again.status_code == 200, again.json()
        assert by_ref(again.json())["refs/heads/release/2"]["status"] == "updated"
        assert bare_refs(fake.repos[dst].repo.path, home)["refs/heads/release/2"] == mine
    endpoints = set(fake.calls_by_endpoint)
    assert any("git-upload-pack" in e for e in endpoints)
    assert any("git-receive-pack" in e for e in endpoints)


def _source(fake_repo_path, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    build_history(WorkTree(tmp_path / "work", home, fake_repo_path))
    return home


def test_github_mirror_round_trip(api, repo, live_worker, tmp_path):
    gh = FakeGitHub(tmp_path / "gh")
    gh.add_token("ghp_mirror")
    gh.create_repo("octo/src", empty=True)
    gh.create_repo("octo/dst", empty=True)
    home = _source(gh.repos["octo/src"].repo.path, tmp_path)
    _round_trip(api, repo, gh, {"provider": "github", "label": "GH",
                "access_token": "ghp_mirror"}, "octo/src", "octo/dst", home)


def test_gitlab_mirror_round_trip(api, repo, live_worker, tmp_path):
    gl = FakeGitLab(tmp_path / "gl")
    gl.add_token("glpat-mirror", username="tanuki")
    gl.create_project("grp/sub/src", empty=True)
    gl.create_project("grp/dst", empty=True)
    home = _source(gl.repos["grp/sub/src"].repo.path, tmp_path)
    _round_trip(api, repo, gl, {"provider": "gitlab", "label": "GL",
                "access_token": "glpat-mirror"}, "grp/sub/src", "grp/dst", home)
