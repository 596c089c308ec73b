"""What a GitHub export must change: from the remote's full listing, or tree by tree.

GitHub's recursive tree listing is truncated for very large trees. Then the change set is found
by walking both trees in step and descending only into directories whose tree ids differ; a
remote tree that also exists locally (git ids are content addresses, so it is the same tree, e.g.
the tree of the last exported local commit) is read here, any other one with one non-recursive
``get_tree`` call per directory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from dulwich.objects import Tree
from dulwich.repo import Repo

from connections.providers.base import RemoteTree
from core.errors import SyncError, Unrepresentable
from sync.engine.api_common import Leaf

MODE_TREE = 0o040000
Listing = dict[str, tuple[int, str]]  # one directory: name -> (mode, sha)
Lister = Callable[[str], Listing]


@dataclass
class Changes:
    written: dict[str, Leaf] = field(default_factory=dict)  # local leaves to send
    removed: dict[str, Leaf] = field(default_factory=dict)  # remote leaves to delete
    known: set[str] = field(default_factory=set)  # blob ids the remote is known to store


def from_leaves(local: dict[str, Leaf], remote: dict[str, Leaf]) -> Changes:
    return Changes(
        written={p: leaf for p, leaf in local.items() if remote.get(p) != leaf},
        removed={p: leaf for p, leaf in remote.items() if p not in local},
        known={leaf.sha for leaf in remote.values()},
    )


def local_lister(repo: Repo) -> Lister:
    def list_dir(sha: str) -> Listing:
        tree = repo[sha.encode()]
        assert isinstance(tree, Tree)
        return {_name(item.path): (item.mode, item.sha.decode()) for item in tree.iteritems()}

    return list_dir


def remote_lister(repo: Repo, fetch: Callable[[str], RemoteTree]) -> Lister:
    """Lists a remote directory, from the local store when the same tree id is here."""
    local = local_lister(repo)

    def list_dir(sha: str) -> Listing:
        if sha.encode() in repo.object_store:
            return local(sha)
        tree = fetch(sha)
        if tree.truncated:
            raise SyncError(f"GitHub cannot list the remote tree {sha[:12]} (one directory too "
                            "large for its API); nothing was exported")
        return {e.path: (int(e.mode, 8), e.sha) for e in tree.entries}

    return list_dir


def diff_dirs(local: Lister, remote: Lister, local_root: str, remote_root: str) -> Changes:
    changes = Changes()
    _diff(changes, local, remote, "", local_root, remote_root)
    return changes


def _diff(out: Changes, local: Lister, remote: Lister, prefix: str, lsha: str | None,
          rsha: str | None) -> None:
    if lsha == rsha:
        return
    mine = local(lsha) if lsha else {}
    theirs = remote(rsha) if rsha else {}
    for name in sorted(mine.keys() | theirs.keys()):
        path, lo, ro = prefix + name, mine.get(name), theirs.get(name)
        if lo == ro:
            continue
        ldir, rdir = _is_dir(lo), _is_dir(ro)
        if ldir or rdir:
            _diff(out, local, remote, path + "/", lo[1] if ldir else None,  # type: ignore[index]
                  ro[1] if rdir else None)  # type: ignore[index]
        if lo is not None and not ldir:
            out.written[path] = Leaf(*lo)
        if ro is not None and not rdir:
            out.known.add(ro[1])
            if lo is None or ldir:
                out.removed[path] = Leaf(*ro)


def _is_dir(entry: tuple[int, str] | None) -> bool:
    return entry is not None and entry[0] == MODE_TREE


def _name(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unrepresentable(f"The path {raw!r} is not UTF-8; provider APIs cannot name it"
                              ) from exc
