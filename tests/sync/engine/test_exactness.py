"""Which GitLab snapshot exports must go over git: any change that adds, changes or removes a
symlink or a submodule link (the commits API can do none of these), and no other."""

from dulwich.objects import Tree

from repos import storage
from sync.engine.exactness import needs_git_export

GITLINK = b"a" * 40


def _commit(repo, entries: dict[bytes, tuple[int, bytes]], parent: bytes | None) -> bytes:
    tree = Tree()
    for path, (mode, sha) in entries.items():
        tree.add(path, mode, sha)
    repo.object_store.add_object(tree)
    commit = storage.write_commit(repo, tree=tree.id, parents=[parent] if parent else [],
                                  message="c\n")
    storage.cas_ref(repo, b"refs/heads/main", storage.read_ref(repo, b"refs/heads/main"), commit)
    return commit


def test_removing_or_changing_a_link_needs_git_and_plain_files_do_not(tmp_path):
    path = tmp_path / "r.git"
    storage.init_bare(path, default_branch="main")
    with storage.open_repo(path) as repo:
        readme = (0o100644, storage.write_blob(repo, b"hi\n"))
        link = (0o120000, storage.write_blob(repo, b"README.md"))
        base = _commit(repo, {b"README.md": readme, b"link": link,
                              b"vendor": (0o160000, GITLINK)}, None)
    assert needs_git_export(path, "main", None)  # never exported: the links are new

    with storage.open_repo(path) as repo:
        edited = (0o100755, storage.write_blob(repo, b"hi again\n"))
        plain = _commit(repo, {b"README.md": edited, b"link": link,
                               b"vendor": (0o160000, GITLINK)}, base)
    assert not needs_git_export(path, "main", base.decode())  # content and exec bit: the API

    with storage.open_repo(path) as repo:
        without_link = _commit(repo, {b"README.md": edited, b"vendor": (0o160000, GITLINK)}, plain)
    assert needs_git_export(path, "main", plain.decode())  # a symlink removed

    with storage.open_repo(path) as repo:
        _commit(repo, {b"README.md": edited, b"vendor": (0o160000, b"b" * 40)}, without_link)
    assert needs_git_export(path, "main", without_link.decode())  # a submodule moved
