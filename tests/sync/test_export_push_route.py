"""Large snapshot exports go over git smart HTTP through the whole service (API trigger → worker
→ engine → fake); the threshold is a setting, forced low here so a small tree takes that path."""

import pytest
from dulwich.objects import Tree

from repos import storage
from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import FakeGitLab
from tests.sync.test_provider_round_trips import (
    _edit_locally,
    _local_tree,
    _trigger,
    provider_config,
    rich_files,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _add_file(repo, name: bytes) -> str:
    with storage.open_repo(repo.disk_path) as r:
        head = storage.read_ref(r, b"refs/heads/main")
        root = r[storage.commit_tree(r, head)]
        assert isinstance(root, Tree)
        root.add(name, 0o100644, storage.write_blob(r, b"small change\n"))
        r.object_store.add_object(root)
        commit = storage.write_commit(r, tree=root.id, parents=[head], message="small\n")
        storage.cas_ref(r, b"refs/heads/main", head, commit)
        return root.id.decode()


def _api_writes(fake) -> list[str]:
    return [e for m, _u, e in fake.requests if m in ("POST", "PUT", "PATCH") and ".git/" not in e]


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_a_change_over_the_threshold_is_pushed_as_one_commit_on_the_tip(
        api, repo, live_worker, tmp_path, settings, provider):
    fake = FakeGitHub(tmp_path / "gh") if provider == "github" else FakeGitLab(tmp_path / "gl")
    token, remote = ("ghp_route", "octo/big") if provider == "github" else ("glpat-route", "g/big")
    fake.add_token(token)
    fake.create_repo(remote, empty=True)
    fake.commit(remote, rich_files(), "rich")
    with fake.mock():
        sync_id = provider_config(api, provider, "P", token, remote)
        imported = _trigger(api, sync_id)
        api.patch("/v1/repos/app/sync/config", {"direction": "export"}, format="json")
        settings.COREGIT_EXPORT_PUSH_MIN_FILES = 1
        expected = _edit_locally(repo)

        exported = _trigger(api, sync_id)

        assert exported["synced"] is True and fake.tree_sha(remote) == expected
        assert _api_writes(fake) == []  # not one API write: the change went as a push
        tip = fake.repos[remote].repo[exported["remote_sha"].encode()]
        assert tip.parents == [imported["remote_sha"].encode()]
        again = _trigger(api, sync_id)
        assert again["synced"] is False and fake.branch_sha(remote) == exported["remote_sha"]

        settings.COREGIT_EXPORT_PUSH_MIN_FILES = 2000  # the default: small changes keep the API
        expected = _add_file(repo, b"small.txt")
        small = _trigger(api, sync_id)
        assert small["synced"] is True and fake.tree_sha(remote) == expected == _local_tree(repo)
        assert _api_writes(fake)
