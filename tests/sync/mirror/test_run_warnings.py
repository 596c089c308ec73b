"""Issue 8 point 6: a run that could not represent something exactly says so, in the trigger
answer, the run, the history and the SDK / CLI. Here: a remote branch whose name git accepts but
this service cannot hold (not UTF-8) is left out of a mirror import, with a warning, through the
API and a real worker against a real `git http-backend`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from coregit_client import Client
from sync.models import SyncRun
from tests.support.gitcli import git
from tests.sync.mirror.history import all_local_refs, build_history, trigger

pytestmark = pytest.mark.django_db(transaction=True)
NOT_UTF8 = os.fsdecode(b"refs/heads/release/caf\xe9")  # matched by release/*


def test_an_unrepresentable_remote_ref_is_left_out_with_a_warning_everywhere(
        api, repo, git_remote, mirror_config, live_worker, live_server, master_key):
    build_history(git_remote.work)
    tip = git("rev-parse", "refs/heads/release/1", cwd=git_remote.path,
              home=git_remote.home).stdout.decode().strip()
    git("update-ref", NOT_UTF8, tip, cwd=git_remote.path, home=git_remote.home)

    resp = trigger(api, mirror_config)
    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert body["synced"] is True and len(body["refs"]) == 5  # everything else was mirrored
    assert len(body["warnings"]) == 1, body
    warning = body["warnings"][0]
    assert warning.startswith("refs/heads/release/caf\\xe9: ") and "not valid UTF-8" in warning
    assert not any(ref.startswith("refs/heads/release/caf") for ref in all_local_refs(repo))

    run = api.get(f"/v1/repos/app/sync/runs/{body['run_id']}").json()
    assert run["warnings"] == [warning]
    assert SyncRun.objects.get(pk=body["run_id"]).warnings == [warning]

    # Nothing new: the same warning again (the ref still cannot be held); a plain snapshot
    # history row without warnings carries an empty list.
    again = trigger(api, mirror_config).json()
    assert again["synced"] is False and again["warnings"] == [warning]
    rows = api.get("/v1/repos/app/sync/history").json()["runs"]
    assert [r["warnings"] for r in rows] == [[warning], [warning]]

    with Client(live_server.url, api_key=master_key) as client:
        assert client.sync.run("app", body["run_id"]).warnings == [warning]
        assert [r.warnings for r in client.sync.history("app")] == [[warning], [warning]]
        answer = client.sync.trigger("app", mirror_config["id"])
        assert answer.warnings == [warning]

    # The CLI prints it after the outcome (a human line on stderr).
    env = {**os.environ, "COREGIT_URL": live_server.url, "COREGIT_API_KEY": master_key,
           "COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"}
    done = subprocess.run([str(Path(sys.executable).parent / "coregit"), "sync", "trigger", "app"],
                          env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert f"warning: {warning}" in " ".join(done.stderr.split()), done.stderr
