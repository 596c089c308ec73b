"""dulwich helpers shared by the GitHub and GitLab fakes: real bare repositories on disk."""

from __future__ import annotations

import os
import time
from collections import deque

from dulwich.objects import Blob, Commit, Tree
from dulwich.repo import Repo

MODE_FILE = 0o100644
MODE_EXEC = 0o100755
MODE_LINK = 0o120000
MODE_GITLINK = 0o160000
MODE_TREE = 0o040000
LEAF_MODES = {MODE_FILE, MODE_EXEC, MODE_LINK, MODE_GITLINK}
ZERO_SHA = "0" * 40
IDENTITY = b"Fake Bot <bot@example.com>"


def parse_mode(mode) -> int:
    """Accept 0o100755, 100755 or "100755"."""
    if isinstance(mode, str):
        return int(mode, 8)
    if mode in (100644, 100755, 120000, 160000, 40000):
        return int(str(mode), 8)
    return int(mode)


def mode_str(mode: int) -> str:
    return f"{mode:06o}"


def kind(mode: int) -> str:
    if mode == MODE_TREE:
        return "tree"
    if mode == MODE_GITLINK:
        return "commit"
    return "blob"


def init_bare(path, default_branch: str = "main") -> Repo:
    os.makedirs(path, exist_ok=True)
    repo = Repo.init_bare(str(path))
    repo.refs.set_symbolic_ref(b"HEAD", b"refs/heads/" + default_branch.encode())
    return repo


def add_blob(repo: Repo, data: bytes) -> str:
    blob = Blob.from_string(data)
    repo.object_store.add_object(blob)
    return blob.id.decode()


def has_object(repo: Repo, sha: str | None, type_name: str | None = None) -> bool:
    if not sha or len(sha) != 40:
        return False
    try:
        obj = repo[sha.encode()]
    except (KeyError, ValueError):
        return False
    return type_name is None or obj.type_name.decode() == type_name


def flatten(repo: Repo, tree_id: str | None, prefix: str = "") -> dict[str, tuple[int, str]]:
    """Leaf entries (blobs, symlinks, gitlinks) of a tree: {path: (mode, sha)}."""
    out: dict[str, tuple[int, str]] = {}
    if not tree_id:
        return out
    tree = repo[tree_id.encode()]
    for entry in tree.iteritems():
        path = prefix + entry.path.decode("utf-8", "surrogateescape")
        if entry.mode == MODE_TREE:
            out.update(flatten(repo, entry.sha.decode(), path + "/"))
        else:
            out[path] = (entry.mode, entry.sha.decode())
    return out


def walk(repo: Repo, tree_id: str, prefix: str = ""):
    """Yield (path, mode, sha) for every entry, trees included, in `git ls-tree -r -t` order."""
    for entry in repo[tree_id.encode()].iteritems():
        path = prefix + entry.path.decode("utf-8", "surrogateescape")
        yield path, entry.mode, entry.sha.decode()
        if entry.mode == MODE_TREE:
            yield from walk(repo, entry.sha.decode(), path + "/")


def build_tree(repo: Repo, leaves: dict[str, tuple[int, str]]) -> str:
    """Write nested trees for {path: (mode, sha)} and return the root tree id."""
    root: dict = {}
    for path, (mode, sha) in leaves.items():
        node = root
        parts = path.split("/")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = (mode, sha)

    def write(node: dict) -> str:
        tree = Tree()
        for name, value in node.items():
            if isinstance(value, dict):
                tree.add(name.encode("utf-8", "surrogateescape"), MODE_TREE, write(value).encode())
            else:
                tree.add(name.encode("utf-8", "surrogateescape"), value[0], value[1].encode())
        repo.object_store.add_object(tree)
        return tree.id.decode()

    return write(root)


def set_path(leaves: dict[str, tuple[int, str]], path: str, value: tuple[int, str] | None):
    """Replace whatever is at `path` (file or directory) by `value` (None deletes)."""
    for key in [k for k in leaves if k == path or k.startswith(path + "/")]:
        del leaves[key]
    if value is None:
        return
    parts = path.split("/")
    for i in range(1, len(parts)):
        leaves.pop("/".join(parts[:i]), None)  # a file where a directory must go
    leaves[path] = value


def files_to_leaves(repo: Repo, files: dict) -> dict[str, tuple[int, str]]:
    """{path: bytes | (mode, bytes-or-sha)} -> {path: (mode, sha)}, writing blobs."""
    leaves = {}
    for path, value in files.items():
        mode, data = (MODE_FILE, value) if isinstance(value, bytes | str) else value
        mode = parse_mode(mode)
        if isinstance(data, str):
            data = data.encode()
        if mode == MODE_GITLINK:
            leaves[path] = (mode, data.decode())
        else:
            leaves[path] = (mode, add_blob(repo, data))
    return leaves


def make_commit(repo: Repo, tree_id: str, parents: list[str], message: str,
                author: dict | None = None, committer: dict | None = None) -> str:
    commit = Commit()
    commit.tree = tree_id.encode()
    commit.parents = [p.encode() for p in parents]
    now = int(time.time())
    for role, prefix, info in (("author", "author", author),
                               ("committer", "commit", committer or author)):
        ident = IDENTITY
        if info and info.get("name") and info.get("email"):
            ident = f"{info['name']} <{info['email']}>".encode()
        setattr(commit, role, ident)
        setattr(commit, prefix + "_time", now)
        setattr(commit, prefix + "_timezone", 0)
    commit.message = message.encode()
    repo.object_store.add_object(commit)
    return commit.id.decode()


def is_ancestor(repo: Repo, ancestor: str, descendant: str) -> bool:
    seen, todo = set(), deque([descendant.encode()])
    target = ancestor.encode()
    while todo:
        sha = todo.popleft()
        if sha == target:
            return True
        if sha in seen:
            continue
        seen.add(sha)
        try:
            todo.extend(repo[sha].parents)
        except KeyError:  # shallow history
            continue
    return False


def branch_sha(repo: Repo, branch: str) -> str | None:
    try:
        return repo.refs[b"refs/heads/" + branch.encode()].decode()
    except KeyError:
        return None


def commit_tree(repo: Repo, sha: str) -> str:
    return repo[sha.encode()].tree.decode()


def read_leaves(repo: Repo, tree_id: str | None) -> dict[str, tuple[int, bytes | str]]:
    """{path: (mode, content bytes)}; gitlinks give (mode, sha str)."""
    out = {}
    for path, (mode, sha) in flatten(repo, tree_id).items():
        out[path] = (mode, sha) if mode == MODE_GITLINK else (mode, repo[sha.encode()].data)
    return out


def local_tree_id(path, branch: str) -> str:
    """Tree id of `branch` in any local repository (bare or not), for exact comparisons."""
    repo = Repo(str(path))
    try:
        return repo[repo.refs[b"refs/heads/" + branch.encode()]].tree.decode()
    finally:
        repo.close()
