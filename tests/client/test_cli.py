"""The ``coregit`` console script, run in a subprocess against a live server and a real worker."""

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from repos import storage
from tests.fakes.github import FakeGitHub
from tests.sync.conftest import PASSWORD, USER, diverge

pytestmark = pytest.mark.django_db(transaction=True)
COREGIT = str(Path(sys.executable).parent / "coregit")
DEADLINE = 180


@pytest.fixture
def cli_env(live_server, master_key):
    env = {**os.environ, "COREGIT_URL": live_server.url, "COREGIT_API_KEY": master_key,
           "COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"}
    env.pop("COREGIT_PROVIDER_TOKEN", None)
    return env


def coregit(env, *args, code=0, **extra):
    done = subprocess.run([COREGIT, *args], env={**env, **extra}, capture_output=True, text=True,
                          timeout=DEADLINE)
    assert done.returncode == code, (args, done.returncode, done.stdout, done.stderr)
    return done


def as_json(env, *args, code=0, **extra):
    return json.loads(coregit(env, *args, "--json", code=code, **extra).stdout)


def test_sync_in_five_commands(cli_env, git_remote, live_worker):
    repo = as_json(cli_env, "repos", "create", "app")
    assert repo["id"].startswith("repo_") and repo["slug"] == "app"
    assert "app" in coregit(cli_env, "repos", "list").stdout  # a human table
    cred = as_json(cli_env, "credentials", "add", "app", "--username", USER,
                   COREGIT_GIT_PASSWORD=PASSWORD)
    assert cred["id"].startswith("ggc_")
    git_remote.work.write("README.md", "hello\n")
    remote_sha = git_remote.work.commit("first")
    git_remote.work.push()

    config = as_json(cli_env, "sync", "config", "create", "app", "--remote", git_remote.url)
    assert config["provider"] == "git" and config["direction"] == "import"
    done = as_json(cli_env, "sync", "trigger", "app")
    assert done["status"] == "success" and done["synced"] is True
    assert done["remote_sha"] == remote_sha and done["files_changed"] == 1
    assert done["progress"]["phases"][-1] == "updating refs" and done["progress"]["refs_updated"] == 1
    with storage.open_repo(Path(repo_path(repo["id"]))) as r:
        assert storage.read_ref(r, b"refs/heads/main").decode() == done["commit_sha"]

    runs = as_json(cli_env, "sync", "history", "app", "--limit", "10")
    assert [r["id"] for r in runs] == [done["run_id"]]
    table = coregit(cli_env, "sync", "history", "app").stdout
    assert done["run_id"] in table and "success" in table
    coregit(cli_env, "sync", "config", "update", "app", "--direction", "export")
    assert as_json(cli_env, "sync", "config", "get", "app")["direction"] == "export"
    assert as_json(cli_env, "sync", "config", "delete", "app") == {"deleted": True}
    coregit(cli_env, "sync", "config", "get", "app", code=1)


def repo_path(repo_id):
    from repos.models import Repository

    return Repository.objects.get(id=repo_id).disk_path


def test_trigger_shows_live_progress_then_watch_follows(cli_env, api, repo, git_remote, git_config,
                                                         live_worker):
    git_remote.work.write("big.bin", os.urandom(2_000_000))
    git_remote.work.commit("big")
    git_remote.work.push()
    git_remote.server.hold.set()  # the remote pauses mid-pack until the CLI has shown "fetching"
    proc = subprocess.Popen([COREGIT, "sync", "trigger", "app"], env=cli_env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: queue.Queue = queue.Queue()
    seen = []

    def read_stderr():  # a thread, so the test itself never blocks on the pipe
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read_stderr, daemon=True).start()
    try:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, f"the CLI ended before showing the fetch: {seen}"
            seen.append(line)
            if " fetching " in line and "received" in line:
                break
        else:
            raise AssertionError(f"no fetching line: {seen}")
    finally:
        git_remote.server.release.set()
    proc.wait(timeout=DEADLINE)
    rest = []
    while (line := lines.get(timeout=DEADLINE)) is not None:
        rest.append(line)
    rest_err = "".join(rest)
    assert proc.returncode == 0, (seen, rest_err)
    shown = "".join(seen) + rest_err
    assert "fetching" in shown and "/3 objects" in shown  # the pack header's object count
    assert "success" in rest_err and "ref updated" in rest_err  # the final figures

    queued = as_json(cli_env, "sync", "trigger", "app", "--no-wait")
    assert queued["status"] in ("queued", "running", "skipped") and queued["run_id"]
    watched = as_json(cli_env, "sync", "watch", "app")
    assert watched["run_id"] == queued["run_id"] and watched["status"] == "skipped"
    shown = as_json(cli_env, "sync", "run", "app", queued["run_id"])
    assert shown["id"] == queued["run_id"] and shown["progress"]["phases"]


def test_sync_error_is_exit_1(cli_env, repo, git_remote, git_config, live_worker):
    git_remote.work.write("a.txt", "1")
    git_remote.work.commit("one")
    git_remote.work.push()
    coregit(cli_env, "sync", "trigger", "app")
    diverge(repo, git_remote)
    refused = coregit(cli_env, "sync", "trigger", "app", code=1)
    assert "error" in refused.stderr and "diverge" in refused.stderr.lower()
    failed = as_json(cli_env, "sync", "watch", "app", code=1)  # the latest run: the failed one
    assert failed["status"] == "error" and failed["error_code"] == "sync.diverged"
    forced = as_json(cli_env, "sync", "trigger", "app", "--force")
    assert forced["status"] == "success"


def test_connections_add_list_test(cli_env, tmp_path):
    gh = FakeGitHub(tmp_path)
    gh.add_token("ghp_cli", "octocat")
    with gh.mock():
        conn = as_json(cli_env, "connections", "add", "--provider", "github", "--label", "bot",
                       COREGIT_PROVIDER_TOKEN="ghp_cli")
        assert conn["external_username"] == "octocat" and "ghp_cli" not in json.dumps(conn)
        listed = coregit(cli_env, "connections", "list").stdout
        assert conn["id"] in listed and "octocat" in listed
        assert as_json(cli_env, "connections", "test", conn["id"])["valid"] is True
        gh.tokens.pop("ghp_cli")  # revoked on the provider
        bad = as_json(cli_env, "connections", "test", conn["id"], code=1)
        assert bad["valid"] is False and "401" in bad["error"]
        rejected = coregit(cli_env, "connections", "add", "--provider", "github", "--label", "x",
                           COREGIT_PROVIDER_TOKEN="ghp_nope", code=1)
        assert "request.invalid" in rejected.stderr


def test_usage_and_unreachable_exit_codes(cli_env):
    coregit(cli_env, "repos", "list", "--no-such-flag", code=2)
    coregit(cli_env, "sync", "trigger", code=2)  # SLUG missing
    coregit(cli_env, "sync", "history", "app", "--limit", "0", code=2)
    no_url = {k: v for k, v in cli_env.items() if k != "COREGIT_URL"}
    assert "COREGIT_URL" in coregit(no_url, "repos", "list", code=2).stderr
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    dead = coregit(cli_env, "repos", "list", code=3, COREGIT_URL=f"http://127.0.0.1:{port}")
    assert "Cannot reach" in dead.stderr
    missing = coregit(cli_env, "sync", "history", "nope", code=1)
    assert "resource.not_found" in missing.stderr


def test_on_a_terminal_trigger_draws_a_live_progress_bar(cli_env, repo, git_remote, git_config,
                                                         live_worker):
    import pty

    git_remote.work.write("a.txt", "1")
    git_remote.work.commit("one")
    git_remote.work.push()
    primary, secondary = pty.openpty()
    env = {k: v for k, v in cli_env.items() if k not in ("TERM", "NO_COLOR")}
    proc = subprocess.Popen([COREGIT, "sync", "trigger", "app"], env={**env, "TERM": "xterm"},
                            stdin=secondary, stdout=secondary, stderr=secondary)
    os.close(secondary)
    shown = b""
    while True:  # until the CLI exits and the terminal side closes (EIO)
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(primary)
    assert proc.wait(timeout=DEADLINE) == 0, shown
    text = shown.decode(errors="replace")
    assert "━" in text and "\x1b[" in text  # rich's bar, redrawn in place
    assert "success" in text and "ref updated" in text
