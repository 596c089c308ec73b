"""Auto-sync in mirror mode: provider push and tag-push webhooks for any matching ref queue a
coalesced mirror import; polling with nothing new costs one ref listing and no pack."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from sync import auto
from sync.models import SyncConfig, SyncRun
from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import FakeGitLab
from tests.sync.engine.worktree import WorkTree
from tests.sync.mirror.history import (
    bare_refs,
    build_history,
    local_refs,
    trigger,
    wait_all_finished,
)
from tests.sync.test_provider_webhook_intake import deliver, gl_deliver, payload

pytestmark = pytest.mark.django_db(transaction=True)
MIRROR = {"mode": "mirror", "branches": ["main", "release/*"], "tags": True, "auto_sync": True}


def _history(path, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    build_history(WorkTree(tmp_path / "work", home, path))
    return home


def _body(name: str, **fields) -> bytes:
    return json.dumps({**json.loads(payload(name)), **fields}).encode()


def test_github_pushes_of_matching_branches_and_tags_queue_a_mirror_import(
        api, repo, client, live_worker, tmp_path):
    gh = FakeGitHub(tmp_path / "gh")
    gh.add_token("ghp_auto")
    gh.create_repo("octo/src", empty=True)
    home = _history(gh.repos["octo/src"].repo.path, tmp_path)
    with gh.mock():
        conn = api.post("/v1/connections", {"provider": "github", "label": "GH",
                        "access_token": "ghp_auto"}, format="json").json()["id"]
        made = api.post("/v1/repos/app/sync/config", {"connection_id": conn,
                        "remote": "octo/src", **MIRROR}, format="json")
        assert made.status_code == 201, made.json()
        config = SyncConfig.objects.get()
        assert gh.hooks("octo/src")[0]["events"] == ["push"]

        other = deliver(client, config, _body("github/push.payload.json",
                                              ref="refs/heads/feature/x"), delivery="d-0")
        assert other.status_code == 200 and other.json()["status"] == "ignored:other_ref"
        assert not SyncRun.objects.exists()
        branch = deliver(client, config, _body("github/push.payload.json",
                                               ref="refs/heads/release/1"), delivery="d-1")
        assert branch.status_code == 202, branch.json()
        wait_all_finished()
        assert local_refs(repo) == bare_refs(gh.repos["octo/src"].repo.path, home)

        gh.repos["octo/src"].repo.refs.remove_if_equals(b"refs/tags/v1", None)
        api.patch("/v1/repos/app/sync/config", {"prune": True}, format="json")
        config.refresh_from_db()
        deleted_tag = deliver(client, config, _body(
            "github/push.payload.json", ref="refs/tags/v1", deleted=True,
            after="0" * 40), delivery="d-2")
        assert deleted_tag.status_code == 202, deleted_tag.json()
        wait_all_finished()
    assert "refs/tags/v1" not in local_refs(repo)
    assert local_refs(repo) == bare_refs(gh.repos["octo/src"].repo.path, home)


def test_gitlab_tag_push_hook_queues_a_mirror_import(api, repo, client, live_worker, tmp_path):
    gl = FakeGitLab(tmp_path / "gl")
    gl.add_token("glpat-auto", username="tanuki")
    gl.create_project("grp/src", empty=True)
    home = _history(gl.repos["grp/src"].repo.path, tmp_path)
    with gl.mock():
        conn = api.post("/v1/connections", {"provider": "gitlab", "label": "GL",
                        "access_token": "glpat-auto"}, format="json").json()["id"]
        made = api.post("/v1/repos/app/sync/config", {"connection_id": conn,
                        "remote": "grp/src", **MIRROR}, format="json")
        assert made.status_code == 201, made.json()
        config = SyncConfig.objects.get()
        hook = gl.hooks("grp/src")[0]
        assert hook["push_events_branch_filter"] == "" and hook["tag_push_events"] is True
        token = config.get_secret("webhook_secret_ciphertext")
        resp = gl_deliver(client, config, {"HTTP_X_GITLAB_TOKEN": token,
                                           "HTTP_X_GITLAB_EVENT": "Tag Push Hook",
                                           "HTTP_IDEMPOTENCY_KEY": "tag-1"},
                          _body("gitlab/push.json", ref="refs/tags/v2"))
        assert resp.status_code == 202, resp.json()
        wait_all_finished()
    assert local_refs(repo) == bare_refs(gl.repos["grp/src"].repo.path, home)


def test_polling_with_nothing_new_lists_refs_once_and_fetches_nothing(
        api, repo, git_remote, mirror_config, live_worker):
    build_history(git_remote.work)
    assert trigger(api, mirror_config).status_code == 200
    api.patch("/v1/repos/app/sync/config", {"poll_interval_minutes": 5}, format="json")
    git_remote.server.stats.reset()
    assert auto.sync_poll_due(now=timezone.now() + timedelta(minutes=6)) == 1
    wait_all_finished()
    run = SyncRun.objects.filter(trigger="schedule").get()
    assert run.status == "skipped" and {r["status"] for r in run.refs} == {"unchanged"}
    # The capability advertisement and one ref listing (protocol v2 ls-refs), and no fetch.
    assert _methods(git_remote) == ["GET", "POST"]

    git_remote.work.write("a.txt", "polled\n")
    new = git_remote.work.commit("polled")
    git_remote.work.push()
    git_remote.server.stats.reset()
    assert auto.sync_poll_due(now=timezone.now() + timedelta(minutes=12)) == 1
    wait_all_finished()
    assert local_refs(repo)["refs/heads/main"] == new
    assert _methods(git_remote) == ["GET", "POST", "POST"]  # only now a pack is fetched


def _methods(git_remote) -> list[str]:
    return [method for method, path, _ in git_remote.server.stats.requests
            if "upload-pack" in path]
