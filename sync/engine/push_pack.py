"""A receive-pack exchange whose pack is given as bytes, and the pack those bytes come from.

dulwich's ``send_pack`` writes the pack itself, one object at a time, from objects it decodes and
compresses again in Python (zlib's default level): about 20 MB/s on a loaded core, slower than
the link a 1 GB push waits on. When a ``git`` binary is present, ``git pack-objects`` writes the
pack instead (C, and it copies objects already compressed in the local packs as they are); the
one object it cannot reach, the new commit (its parent is the remote tip, not stored here), is
appended to git's stream and the pack's object count and checksum are rewritten around it. The
dulwich writer remains the fallback. Either way the bytes stream: nothing holds the pack.

The exchange itself is dulwich's (ref advertisement, report-status parsing); only the request
body is ours. The ref update carries the advertised value as the expected old value.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from collections.abc import Callable, Iterator

from dulwich.client import (
    CAPABILITY_ATOMIC,
    CAPABILITY_PUSH_OPTIONS,
    CAPABILITY_REPORT_STATUS,
    Protocol,
    ReportStatusParser,
    _v1ReceivePackHeader,
    capability_agent,
    pkt_line,
)
from dulwich.object_format import DEFAULT_OBJECT_FORMAT
from dulwich.objects import Commit
from dulwich.pack import PackChunkGenerator, UnpackedObject, pack_object_chunks

from core.errors import SyncError
from sync.engine.transport import RequestsHttpGitClient

READ = 1 << 20
UpdateRefs = Callable[[dict[bytes, bytes]], "dict[bytes, bytes] | None"]


def send_raw_pack(client: RequestsHttpGitClient, update_refs: UpdateRefs,
                  pack: Callable[[], Iterator[bytes]]) -> dict[bytes, str | None] | None:
    """Advertisement, then (unless ``update_refs`` returns None) one POST of the ref commands
    and ``pack()``'s bytes; the per-ref status (None: updated), or None when nothing was sent."""
    url = client._get_url(b"")
    old_refs, server_caps, url, _symrefs, _peeled = client._discover_references(
        b"git-receive-pack", url)
    caps, _agent = client._negotiate_receive_pack_capabilities(server_caps)
    caps.add(capability_agent())
    caps.discard(CAPABILITY_PUSH_OPTIONS)
    caps.discard(CAPABILITY_ATOMIC)
    client._report_status_parser = (ReportStatusParser() if CAPABILITY_REPORT_STATUS in caps
                                    else None)
    new_refs = update_refs(dict(old_refs))  # type: ignore[arg-type]
    if new_refs is None:
        return None
    head = [pkt_line(p) for p in _v1ReceivePackHeader(list(caps), old_refs, new_refs)]
    resp, read = client._smart_request("git-receive-pack", url, data=_chain(head, pack))
    try:
        status = client._handle_receive_pack_tail(Protocol(read, lambda _d: None), caps)
    finally:
        resp.close()
    return dict(status or {})


def _chain(head: list[bytes], pack: Callable[[], Iterator[bytes]]) -> Iterator[bytes]:
    yield from head
    yield from pack()


def git_pack(git: str, repo_path: str, commit: Commit, tree: bytes, base: bytes | None
             ) -> Iterator[bytes]:
    """``git pack-objects`` of ``tree`` minus ``base`` (trees are valid revisions for it), with
    ``commit`` appended: the object count and the trailing checksum are rewritten."""
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            [git, f"--git-dir={repo_path}", "-c", f"safe.directory={repo_path}", "pack-objects",
             "--revs", "--stdout", "-q"], cwd=repo_path,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors)
        try:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(tree + b"\n" + (b"^" + base + b"\n" if base else b""))
            proc.stdin.close()
            yield from _spliced(proc.stdout, commit)
            if proc.wait() != 0:
                errors.seek(0)
                raise SyncError("git pack-objects failed: "
                                + errors.read(400).decode("utf-8", "replace").strip())
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _spliced(out, commit: Commit) -> Iterator[bytes]:
    header = out.read(12)
    if len(header) != 12 or header[:4] != b"PACK":
        raise SyncError("git pack-objects did not write a pack")
    digest = hashlib.sha1()  # noqa: S324 - the pack format's checksum, not a security use
    count = int.from_bytes(header[8:12], "big") + 1
    first = header[:8] + count.to_bytes(4, "big")
    digest.update(first)
    yield first
    held = b""
    while chunk := out.read(READ):
        data = held + chunk
        held = data[-20:]  # git's own checksum: dropped at the end
        digest.update(data[:-20])
        yield data[:-20]
    entry = b"".join(pack_object_chunks(Commit.type_num, commit.as_raw_chunks(),
                                        DEFAULT_OBJECT_FORMAT, compression_level=-1))
    digest.update(entry)
    yield entry + digest.digest()


def dulwich_pack(records: Iterator[UnpackedObject], count: int, level: int) -> Iterator[bytes]:
    """The same pack written by dulwich (no git binary): one object in memory at a time."""
    return iter(PackChunkGenerator(DEFAULT_OBJECT_FORMAT, num_records=count, records=records,
                                   compression_level=level))
