"""A redirect to another host is refused: the stored credential never follows it there."""
import re

import pytest
import responses
from dulwich.objects import Blob, Commit, Tree
from dulwich.repo import Repo

from connections.providers.base import GitAccess
from core.errors import ProviderError
from core.netguard import pinned_session
from sync.engine import importer
from sync.engine.types import ImportRequest
from tests.fakes.smart_http import serve


def _remote_repo(path):
    repo = Repo.init_bare(str(path), mkdir=True)
    blob = Blob.from_string(b"hello\n")
    tree = Tree()
    tree.add(b"README", 0o100644, blob.id)
    c = Commit()
    c.tree, c.author = tree.id, b"a <a@b>"
    c.committer, c.message = c.author, b"init\n"
    c.commit_time = c.author_time = 0
    c.commit_timezone = c.author_timezone = 0
    for o in (blob, tree, c):
        repo.object_store.add_object(o)
    repo.refs[b"refs/heads/main"] = c.id
    return repo


def test_cross_host_redirect_is_refused_and_sends_nothing_there(tmp_path, settings):
    settings.COREGIT_ALLOW_PRIVATE_HOSTS = True  # responses only, no real network
    remote = _remote_repo(tmp_path / "remote.git")
    local = Repo.init_bare(str(tmp_path / "local.git"), mkdir=True)
    local.close()
    seen = []

    def record(request):
        seen.append((request.method, request.url, request.headers.get("Authorization")))

    def legit(request):
        record(request)
        target = "https://attacker.example.net/x.git/info/refs?service=git-upload-pack"
        return 302, {"Location": target}, b""

    def evil_refs(request):
        record(request)
        st, body, h = serve(remote, request, "info/refs")
        return st, h, body

    def evil_pack(request):
        record(request)
        st, body, h = serve(remote, request, "git-upload-pack")
        return st, h, body

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_callback("GET", re.compile(r"https://git\.example\.com/.*"), callback=legit)
        rsps.add_callback("GET", re.compile(r"https://attacker\.example\.net/x\.git/info/refs.*"),
                          callback=evil_refs)
        rsps.add_callback("POST", "https://attacker.example.net/x.git/git-upload-pack",
                          callback=evil_pack)
        req = ImportRequest(repo_path=str(tmp_path / "local.git"), branch="main",
                            remote=GitAccess(url="https://git.example.com/team/repo.git",
                                             username="git", password="S3CRET-PASSWORD"),
                            tracking_ref=b"refs/sync/sync_x/remote", remote_label="git test")
        with pytest.raises(ProviderError, match="redirected to another host"):
            importer.run_import(req, pinned_session())
    assert [m for m, u, _ in seen if "attacker" in u] == []  # not even the redirected GET body
    assert "S3CRET" not in repr(seen)


def test_same_host_redirect_is_followed(tmp_path, settings):
    settings.COREGIT_ALLOW_PRIVATE_HOSTS = True
    remote = _remote_repo(tmp_path / "remote.git")
    Repo.init_bare(str(tmp_path / "local.git"), mkdir=True).close()

    def moved(request):
        query = request.url.split("?", 1)[1]
        return 301, {"Location": f"https://git.example.com/team/renamed.git/info/refs?{query}"}, b""

    def refs(request):
        status, body, headers = serve(remote, request, "info/refs")
        return status, headers, body

    def pack(request):
        status, body, headers = serve(remote, request, "git-upload-pack")
        return status, headers, body

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_callback("GET", re.compile(r"https://git\.example\.com/team/repo\.git/.*"),
                          callback=moved)
        rsps.add_callback("GET", re.compile(r"https://git\.example\.com/team/renamed\.git/.*"),
                          callback=refs)
        rsps.add_callback("POST", "https://git.example.com/team/renamed.git/git-upload-pack",
                          callback=pack)
        req = ImportRequest(repo_path=str(tmp_path / "local.git"), branch="main",
                            remote=GitAccess(url="https://git.example.com/team/repo.git",
                                             username="git", password="pw"),
                            tracking_ref=b"refs/sync/sync_x/remote", remote_label="git test")
        result = importer.run_import(req, pinned_session())
    assert result.status == "success"
    assert result.remote_sha == remote.refs[b"refs/heads/main"].decode()
