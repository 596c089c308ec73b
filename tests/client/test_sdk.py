"""The Python SDK against a live server: connections, credentials, repos, sync, typed errors."""

import socket

import pytest

from coregit_client import (
    BadRequest,
    Client,
    Conflict,
    Diverged,
    Forbidden,
    NotFound,
    SyncRun,
    TriggerResult,
    Unauthorized,
    Unreachable,
)
from coregit_client.errors import ProviderError
from tests.fakes.github import FakeGitHub
from tests.sync.conftest import PASSWORD, USER, diverge

pytestmark = pytest.mark.django_db(transaction=True)


def test_connections_round_trip_through_the_seed_names(client, tmp_path):
    gh = FakeGitHub(tmp_path)
    gh.add_token("ghp_first", "octocat")
    gh.add_token("ghp_second", "hubot")
    with gh.mock():
        conn = client.connections.create(provider="github", label="CI/CD Token",
                                         access_token="ghp_first")
        assert conn.id.startswith("conn_") and conn.external_username == "octocat"
        assert [c.id for c in client.connections.list()] == [conn.id]
        assert client.connections.update(conn.id, access_token="ghp_second") is True
        listed = client.connections.list()[0]
        assert listed.external_username == "hubot" and listed.version == 2
        test = client.connections.test(conn.id)
        assert test.valid is True and test.username == "hubot"
        with pytest.raises(BadRequest) as rejected:
            client.connections.create(provider="github", label="x", access_token="ghp_revoked")
        assert rejected.value.status == 400 and "401" in rejected.value.message
        assert rejected.value.code == "request.invalid"
        assert client.connections.delete(conn.id) is True
        with pytest.raises(NotFound) as gone:
            client.connections.test(conn.id)
        assert gone.value.code == "resource.not_found"
    assert client.connections.list() == []


def test_repos_pages_and_errors(client):
    made = [client.repos.create(s) for s in ("r1", "r2", "r3")]
    made.append(client.repos.create("r4", namespace="team", description="d"))
    listed = list(client.repos.list(page_size=2))  # two pages and a half: the iterator follows
    assert sorted(r.id for r in listed) == sorted(r.id for r in made)
    assert client.repos.get("team/r4").description == "d"
    with pytest.raises(Conflict) as taken:
        client.repos.create("r1")
    assert taken.value.status == 409
    assert client.repos.delete("r2") is True
    with pytest.raises(NotFound):
        client.repos.get("r2")


def test_keys_and_addresses_map_to_typed_errors(live_server, client, scoped_key, monkeypatch):
    client.repos.create("app")
    with Client(live_server.url, "cg_wrong") as bad, pytest.raises(Unauthorized) as no:
        bad.repos.get("app")
    assert no.value.code == "auth.unauthenticated" and no.value.status == 401
    reader = scoped_key({"repos:app": ["read"]})
    with Client(live_server.url, reader) as ro, pytest.raises(Forbidden):
        ro.connections.create(provider="github", label="x", access_token="ghp_x")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with Client(f"http://127.0.0.1:{port}", "k") as dead, pytest.raises(Unreachable):
        dead.repos.list().__next__()
    monkeypatch.setenv("COREGIT_URL", live_server.url + "/v1")
    monkeypatch.setenv("COREGIT_API_KEY", reader)
    with Client() as from_env:
        assert from_env.repos.get("app").slug == "app"
    monkeypatch.delenv("COREGIT_API_KEY")
    with pytest.raises(BadRequest):
        Client()


def test_sync_config_trigger_run_and_history(client, repo, git_remote, live_worker, settings):
    cred = client.credentials.create(repo_id=repo.id, username=USER, password="wrong")
    assert cred.id.startswith("ggc_")
    assert client.sync.config.get("app") is None
    with pytest.raises(ProviderError) as denied:  # the wrong password, checked on creation
        client.sync.config.create("app", remote=git_remote.url)
    assert denied.value.code == "provider.access_denied" and denied.value.status == 422
    client.credentials.update(cred.id, username=USER, password=PASSWORD)
    config = client.sync.config.create("app", remote=git_remote.url)
    assert config.id.startswith("sync_") and config.provider == "git"
    with pytest.raises(ProviderError) as empty:  # nothing pushed yet: the run fails, typed
        client.sync.trigger("app", config.id)
    assert empty.value.run_id and empty.value.code.startswith("provider.")
    git_remote.work.write("README.md", "hello\n")
    remote_sha = git_remote.work.commit("first")
    git_remote.work.push()

    done = client.sync.trigger("app", config.id)
    assert isinstance(done, TriggerResult) and done.synced and done.status == "success"
    assert done.remote_sha == remote_sha and done.files_changed == 1

    git_remote.work.write("b.txt", "b\n")
    git_remote.work.commit("second")
    git_remote.work.push()
    settings.COREGIT_SYNC_WAIT_SECONDS = 0  # the server answers 202 at once: the SDK polls
    seen: list[SyncRun] = []
    polled = client.sync.trigger("app", config.id, on_progress=seen.append)
    assert polled.synced and polled.files_changed == 1 and seen[-1].finished
    run = client.sync.run("app", polled.run_id)
    assert run.status == "success" and run.progress.phases[0] == "resolving"
    assert run.progress.bytes_received > 0 and run.progress.refs_updated == 1
    waited = client.sync.trigger("app", config.id, wait=True)
    assert waited.status == "skipped" and waited.synced is False

    queued = client.sync.trigger("app", config.id, wait=False)
    assert queued.status in ("queued", "running", "skipped")
    assert client.sync.wait("app", queued.run_id, timeout=120).status == "skipped"

    history = list(client.sync.history("app", page_size=2))  # 5 runs over 3 pages
    assert [r.status for r in history] == ["skipped", "skipped", "success", "success", "error"]
    assert history[-1].error_code.startswith("provider.")
    assert [r.id for r in client.sync.history("app", limit=2)] == [h.id for h in history[:2]]
    assert client.sync.latest("app").id == history[0].id
    with pytest.raises(NotFound):
        client.sync.run("app", "run_missing")

    assert client.sync.config.update("app", direction="export") is True
    assert client.sync.config.get("app").direction == "export"
    assert client.sync.config.delete("app") is True
    assert client.sync.config.get("app") is None
    client.credentials.delete(cred.id)
    with pytest.raises(NotFound):
        client.credentials.delete(cred.id)


def test_divergence_is_a_typed_conflict_with_its_run(client, repo, git_remote, git_config,
                                                     live_worker):
    git_remote.work.write("a.txt", "1")
    git_remote.work.commit("one")
    git_remote.work.push()
    client.sync.trigger("app", git_config["id"])
    diverge(repo, git_remote)
    with pytest.raises(Diverged) as refused:
        client.sync.trigger("app", git_config["id"])
    assert isinstance(refused.value, Conflict) and refused.value.code == "sync.diverged"
    assert client.sync.run("app", refused.value.run_id).status == "error"
    forced = client.sync.trigger("app", git_config["id"], force=True)
    assert forced.synced is True
