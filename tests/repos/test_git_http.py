"""The real git CLI against our smart HTTP server (pytest-django's live server)."""

import pytest

from accounts.services import api_key_create, org_create
from repos import storage
from repos.services import repository_create
from repos.signals import branch_pushed
from tests.support.gitcli import authed_url, git

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def setup(tmp_path):
    org, master = org_create(name="Acme")
    from accounts.principal import Principal
    from accounts.selectors import api_key_by_raw

    principal = Principal(key=api_key_by_raw(raw=master))
    repo = repository_create(principal=principal, slug="app", namespace="team")
    writer = api_key_create(org=org, name="w", scopes={"repos:team/app": ["write"]})[1]
    reader = api_key_create(org=org, name="r", scopes={"repos:team/app": ["read"]})[1]
    return org, repo, writer, reader


def test_clone_commit_push_reclone_round_trip_with_scoped_key(live_server, setup, tmp_path):
    org, repo, writer, _ = setup
    url = authed_url(live_server.url, writer, f"{org.slug}/team/app.git")
    pushes = []

    def record(sender, **kw):
        pushes.append((kw["ref"], kw["old_sha"], kw["new_sha"]))

    branch_pushed.connect(record)
    try:
        git("clone", url, "work", cwd=tmp_path, home=tmp_path)
        work = tmp_path / "work"
        (work / "README.md").write_text("hello\n")
        (work / "bin.dat").write_bytes(bytes(range(256)) * 100)
        git("add", ".", cwd=work, home=tmp_path)
        git("commit", "-m", "first", cwd=work, home=tmp_path)
        git("push", "origin", "main", cwd=work, home=tmp_path)
        head = git("rev-parse", "HEAD", cwd=work, home=tmp_path).stdout.decode().strip()
        (work / "README.md").write_text("hello again\n")
        git("commit", "-am", "second", cwd=work, home=tmp_path)
        git("push", "origin", "main", cwd=work, home=tmp_path)
        head2 = git("rev-parse", "HEAD", cwd=work, home=tmp_path).stdout.decode().strip()
    finally:
        branch_pushed.disconnect(record)

    assert pushes == [("refs/heads/main", None, head), ("refs/heads/main", head, head2)]
    with storage.open_repo(repo.disk_path) as r:
        assert storage.read_ref(r, b"refs/heads/main").decode() == head2
    git("clone", url, "again", cwd=tmp_path, home=tmp_path)
    assert (tmp_path / "again" / "README.md").read_text() == "hello again\n"
    assert (tmp_path / "again" / "bin.dat").read_bytes() == bytes(range(256)) * 100


def test_git_auth_matrix(live_server, setup, tmp_path):
    org, repo, writer, reader = setup
    path = f"{org.slug}/team/app.git"
    anon = git("ls-remote", f"{live_server.url}/{path}", home=tmp_path, check=False)
    assert anon.returncode != 0
    assert b"could not read Username" in anon.stderr  # git saw 401 and wanted to prompt

    git("clone", authed_url(live_server.url, reader, path), "ro", cwd=tmp_path, home=tmp_path)
    ro = tmp_path / "ro"
    (ro / "f.txt").write_text("x")
    git("add", ".", cwd=ro, home=tmp_path)
    git("commit", "-m", "nope", cwd=ro, home=tmp_path)
    denied = git("push", "origin", "main", cwd=ro, home=tmp_path, check=False)
    assert denied.returncode != 0 and b"403" in denied.stderr
    with storage.open_repo(repo.disk_path) as r:
        assert storage.read_ref(r, b"refs/heads/main") is None

    _, other = org_create(name="Other")
    missing = git("ls-remote", authed_url(live_server.url, other, path), home=tmp_path, check=False)
    assert missing.returncode != 0 and b"not found" in missing.stderr.lower()
    wrong = git("ls-remote", authed_url(live_server.url, "cgk_bogus", path), home=tmp_path,
                check=False)
    assert wrong.returncode != 0


def test_git_http_status_codes(live_server, setup):
    import requests

    org, repo, writer, reader = setup
    base = f"{live_server.url}/{org.slug}/team/app.git"
    refs = f"{base}/info/refs?service=git-receive-pack"
    none = requests.get(refs, timeout=10)
    assert none.status_code == 401 and none.headers["WWW-Authenticate"].startswith("Basic")
    assert requests.get(refs, auth=("git", reader), timeout=10).status_code == 403
    assert requests.get(refs, auth=("git", writer), timeout=10).status_code == 200
    up = f"{base}/info/refs?service=git-upload-pack"
    assert requests.get(up, auth=("git", reader), timeout=10).status_code == 200
    _, other = org_create(name="Other")
    assert requests.get(up, auth=("git", other), timeout=10).status_code == 404
    assert requests.get(f"{base}/info/refs", auth=("git", reader), timeout=10).status_code == 403


def test_sync_tracking_refs_are_hidden_and_cannot_be_pushed(live_server, setup, tmp_path):
    org, repo, writer, _ = setup
    url = authed_url(live_server.url, writer, f"{org.slug}/team/app.git")
    work = tmp_path / "w"
    git("init", str(work), home=tmp_path)
    (work / "f").write_text("x")
    git("add", ".", cwd=work, home=tmp_path)
    git("commit", "-m", "x", cwd=work, home=tmp_path)
    git("push", url, "main", cwd=work, home=tmp_path)
    with storage.open_repo(repo.disk_path) as r:
        head = storage.read_ref(r, b"refs/heads/main")
        storage.cas_ref(r, b"refs/sync/sync_1/remote", None, head)
    listed = git("ls-remote", url, home=tmp_path).stdout.decode()
    assert "refs/heads/main" in listed and "refs/sync/" not in listed
    denied = git("push", url, "main:refs/sync/sync_1/remote", "-f", cwd=work, home=tmp_path,
                 check=False)
    assert denied.returncode != 0 and b"reserved" in denied.stderr


def test_a_push_over_the_size_limit_is_refused(live_server, setup, tmp_path, settings):
    import os

    settings.COREGIT_MAX_PUSH_BYTES = 64 * 1024
    org, repo, writer, _ = setup
    url = authed_url(live_server.url, writer, f"{org.slug}/team/app.git")
    work = tmp_path / "big"
    git("init", str(work), home=tmp_path)
    (work / "noise.bin").write_bytes(os.urandom(256 * 1024))
    git("add", ".", cwd=work, home=tmp_path)
    git("commit", "-m", "big", cwd=work, home=tmp_path)
    pushed = git("-c", "http.postBuffer=10000000", "push", url, "main", cwd=work, home=tmp_path,
                 check=False)
    assert pushed.returncode != 0, pushed.stderr
    assert b"maximum" in pushed.stderr.lower() or b"too large" in pushed.stderr.lower() or \
        b"unpack" in pushed.stderr.lower(), pushed.stderr
    with storage.open_repo(repo.disk_path) as r:
        assert storage.read_ref(r, b"refs/heads/main") is None
    settings.COREGIT_MAX_PUSH_BYTES = 10 * 1024 * 1024  # the same push fits a larger limit
    git("-c", "http.postBuffer=10000000", "push", url, "main", cwd=work, home=tmp_path)
