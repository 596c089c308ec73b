"""Receive a pack into a quarantine directory, as git's receive-pack does (Django-free).

dulwich's ``add_thin_pack`` writes ``objects/tmp_pack_*`` and leaves it behind when the pack is
refused for size or the client hangs up mid-pack. Here the pack is received by a scratch object
store in ``objects/incoming-*`` that borrows the repository's objects (as an alternate, for thin
pack bases) and the finished pack is hard-linked into ``objects/pack``. Whatever happens, the
scratch directory is removed; a process killed meanwhile leaves it to the periodic sweep
(``repos.tmp_sweep``), which knows the same prefix.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from dulwich.object_store import DiskObjectStore

QUARANTINE_PREFIX = "incoming-"


@contextmanager
def quarantine(store: DiskObjectStore) -> Iterator[DiskObjectStore]:
    """A scratch object store inside ``store``'s directory, deleted on exit."""
    path = tempfile.mkdtemp(prefix=QUARANTINE_PREFIX, dir=store.path)
    scratch = None
    try:
        os.mkdir(os.path.join(path, "pack"))
        # The repository's own store is an alternate: thin-pack bases are resolved from it.
        scratch = DiskObjectStore(
            path, alternates=[store.path], object_format=store.object_format,
            pack_compression_level=store.pack_compression_level,
            pack_index_version=store.pack_index_version,
            fsync_object_files=store.fsync_object_files,
        )
        yield scratch
    finally:
        if scratch is not None:
            scratch.close()
        shutil.rmtree(path, ignore_errors=True)


def receive_pack(
    store: DiskObjectStore,
    read_all: Callable[[int], bytes],
    read_some: Callable[[int], bytes] | None,
    *,
    max_input_size: int | None = None,
) -> None:
    """``store.add_thin_pack`` that leaves no file behind unless the whole pack was stored."""
    with quarantine(store) as scratch:
        scratch.add_thin_pack(read_all, read_some, max_input_size=max_input_size)
        _migrate(scratch.pack_dir, store.pack_dir)


def _migrate(source: str, target: str) -> None:
    """Publish each pack, then its index: readers ignore a pack until its index appears."""
    for pack in glob.glob(os.path.join(source, "*.pack")):
        base = os.path.basename(pack)[: -len(".pack")]
        published = os.path.join(target, base + ".pack")
        try:
            # link() refuses to replace: a pack of that name (named by its objects) is kept.
            os.link(pack, published)
        except FileExistsError:
            continue
        except OSError:  # a filesystem without hard links
            if os.path.exists(published):
                continue
            os.rename(pack, published)
        os.replace(os.path.join(source, base + ".idx"), os.path.join(target, base + ".idx"))
