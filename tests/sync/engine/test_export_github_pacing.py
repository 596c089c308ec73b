"""Two GitHub exports through one connection at the same time share GitHub's content budget.

Both run in their own thread, each with the pacer the service builds for the connection (the
shared window in the real Redis broker, keyed by the connection's credentials hash). Together they
need more than two windows' budget of content-creating requests; the fake logs the arrival time of
each one on the real clock. No window may hold more than the budget, and the fake's secondary limit
never answers.

GitHub's rule is 80 in any 60 s, and the pacer keeps 78 per 62 s. Here the fake's window and the
pacer's, with the same margin of 2 requests and 2 s, are shrunk to seconds: the rule and the code
are the same, and the test takes seconds instead of minutes.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

from django.conf import settings

from connections.providers.github import GitHubClient
from connections.providers.pacing import SharedPacer, pacing_key, window_storage
from sync.engine.export_github import run_export
from sync.engine.types import ExportRequest
from tests.fakes.github import CONTENT_ENDPOINTS, FakeGitHub
from tests.support.windows import max_in_window
from tests.sync.engine.worktree import bare_tree

TOKEN = "ghp_shared"
BLOBS_EACH = 12
FAKE_LIMIT, FAKE_WINDOW = 10, 3.0
PACER_LIMIT = f"{FAKE_LIMIT - 2} per {int(FAKE_WINDOW) + 2} seconds"  # GitHub's 80/60 s: 78/62 s


def _local_repo(env, name: str):
    from repos import storage

    path = env.tmp / f"{name}.git"
    storage.init_bare(path, default_branch="main")
    wt = env.worktree(path, f"work-{name}")
    for i in range(BLOBS_EACH):
        wt.write(f"bin/{i}.dat", b"\x00" + os.urandom(256))
    wt.commit()
    wt.push()
    return path


def test_two_exports_through_one_connection_stay_within_the_window(env, tmp_path):
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "make test runs on the real Redis"
    fake = FakeGitHub(tmp_path / "gh", clock=time.monotonic)
    fake.content_limit, fake.content_window = FAKE_LIMIT, FAKE_WINDOW
    fake.add_token(TOKEN)
    credentials_hash = uuid.uuid4().hex  # the connection's stored keyed hash
    key = pacing_key("github", credentials_hash)
    storage = window_storage(settings.CELERY_BROKER_URL, settings.DATA_DIR)
    locals_, results, errors = {}, {}, []
    for name in ("one", "two"):
        fake.create_repo(f"octo/{name}", empty=True)
        locals_[name] = _local_repo(env, name)

    def export(name: str) -> None:
        req = ExportRequest(repo_path=locals_[name], branch="main", remote_name=f"octo/{name}",
                            remote_label=name)
        pacer = SharedPacer(storage, key, limit=PACER_LIMIT)
        try:
            results[name] = run_export(req, GitHubClient(TOKEN), pacer=pacer)
        except Exception as exc:  # reported below, with the thread's name
            errors.append((name, exc))

    with fake.mock():
        threads = [threading.Thread(target=export, args=(n,)) for n in locals_]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=280)

    assert not errors, errors
    for name, path in locals_.items():
        assert results[name].status == "success"
        assert fake.tree_sha(f"octo/{name}") == bare_tree(path, env.home)
    content = [r.at for r in fake.log if r.endpoint in CONTENT_ENDPOINTS]
    assert len(content) > 2 * FAKE_LIMIT  # more than two windows' budget was needed
    assert max_in_window(content, FAKE_WINDOW) <= FAKE_LIMIT
    assert fake.secondary_limit_hits == 0
    fake.close()
