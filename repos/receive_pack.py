"""dulwich's receive-pack, made safe for a repository that sync runs write to concurrently.

What dulwich's ``ReceivePackHandler`` (1.2) does not do, and this subclass adds:

- A ref update that loses its compare-and-swap is refused. dulwich ignores ``False`` from
  ``set_if_equals``/``remove_if_equals`` (reporting ``ok`` for a push a sync run overwrote) and
  lets ``FileLocked`` escape as a 500. Here both become ``ng <ref> failed to update ref: …``, and
  since dulwich runs post-receive only for ``ok`` refs, no ``branch_pushed`` fires for them.
- The pack goes through a quarantine (:mod:`repos.quarantine`): a refused or cut-off pack leaves
  no temporary file behind.
- git's receive-pack takes everything after the second space as the ref name and refuses a name
  with a space as ``funny refname``; dulwich splits on every space and aborts the whole push.
  :class:`ReceiveProtocol` hides such spaces until the name is refused.

Pushes do not take the repository lock (``storage.repo_lock``) that sync runs hold: a push would
otherwise wait behind a long import. That is safe because every ref still changes only by
compare-and-swap on dulwich's per-ref lock file, so a push and a run racing on one ref cannot both
win, and the loser is told so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dulwich.file import FileLocked
from dulwich.protocol import ReceivableProtocol
from dulwich.server import ReceivePackHandler

from repos.quarantine import receive_pack

MOVED = b"failed to update ref: it moved during the push; fetch and push again"
LOCKED = b"failed to update ref: another update holds its lock; push again"
_COMMAND = re.compile(rb"^([0-9a-f]{40} [0-9a-f]{40} )(.*)$", re.DOTALL)
_SPACE_STAND_IN = b"\x7f"  # a byte no valid ref name has, so the name is refused as funny


class RefUpdateRefused(OSError):
    """dulwich turns an ``OSError`` from a ref update into ``ng`` for that ref (not a 500)."""


class _CompareAndSwapRefs:
    """The repository's refs, with compare-and-swap failures raised instead of returned."""

    def __init__(self, refs, refused: dict[bytes, bytes]) -> None:
        self._refs = refs
        self._refused = refused

    def __getattr__(self, name: str):
        return getattr(self._refs, name)

    def set_if_equals(self, name: bytes, old: bytes | None, new: bytes, *args, **kwargs) -> bool:
        return self._swap(name, self._refs.set_if_equals, name, old, new, *args, **kwargs)

    def remove_if_equals(self, name: bytes, old: bytes | None, *args, **kwargs) -> bool:
        return self._swap(name, self._refs.remove_if_equals, name, old, *args, **kwargs)

    def _swap(self, name: bytes, update, *args, **kwargs) -> bool:
        try:
            done = update(*args, **kwargs)
        except FileLocked:
            done, reason = False, LOCKED
        else:
            reason = MOVED
        if not done:
            self._refused[name] = reason
            raise RefUpdateRefused(reason.decode())
        return True


class _QuarantinedStore:
    """The repository's object store, receiving packs through a quarantine directory."""

    def __init__(self, store) -> None:
        self._store = store

    def __getattr__(self, name: str):
        return getattr(self._store, name)

    def add_thin_pack(self, read_all, read_some, progress=None, *, max_input_size=None) -> None:
        receive_pack(self._store, read_all, read_some, max_input_size=max_input_size)


class _ReceivingRepo:
    """The handler's view of the repository: same repository, safer refs and object store."""

    def __init__(self, repo, refused: dict[bytes, bytes]) -> None:
        self._repo = repo
        self.refs = _CompareAndSwapRefs(repo.refs, refused)
        self.object_store = _QuarantinedStore(repo.object_store)

    def __getattr__(self, name: str):
        return getattr(self._repo, name)


class ReceiveProtocol(ReceivableProtocol):
    """Receive-pack's protocol: a ref name with a space reaches dulwich as one (funny) name."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.original_names: dict[bytes, bytes] = {}
        self._commands_done = False

    def read_pkt_line(self) -> bytes | None:
        line = super().read_pkt_line()
        if self._commands_done or line is None:
            self._commands_done = True  # the flush-pkt ends the commands; the pack follows
            return line
        match = _COMMAND.match(line.partition(b"\0")[0])  # the first line carries capabilities
        name = match.group(2).rstrip(b"\n") if match else b""
        if b" " not in name:
            return line
        hidden = name.replace(b" ", _SPACE_STAND_IN)
        self.original_names[hidden] = name
        shas = match.group(1)
        return shas + hidden + line[len(shas) + len(name):]


class CoregitReceivePackHandler(ReceivePackHandler):
    """dulwich's handler on a :class:`_ReceivingRepo`, reporting why each refused ref was."""

    def __init__(self, backend, args, proto, stateless_rpc=False, advertise_refs=False) -> None:
        super().__init__(backend, args, proto, stateless_rpc=stateless_rpc,
                         advertise_refs=advertise_refs)
        self._refused: dict[bytes, bytes] = {}
        self.repo = _ReceivingRepo(self.repo, self._refused)

    def _apply_pack(self, refs) -> Iterator[tuple[bytes, bytes]]:
        for name, status in super()._apply_pack(refs):
            yield name, self._refused.get(name, status)

    def _report_status(self, status) -> None:
        names = getattr(self.proto, "original_names", {})
        super()._report_status([(names.get(name, name), message) for name, message in status])
