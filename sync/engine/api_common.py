"""Shared by the API exports (GitHub, GitLab): local snapshot reading, divergence, pacing, retries."""

from __future__ import annotations

import contextlib
import mmap
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

from dulwich.repo import Repo
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from connections.providers.base import LazyBlob, Pausing, RemoteCommit
from connections.providers.streaming import is_text  # noqa: F401  (re-exported)
from core.errors import Diverged, NotFound, ProviderRateLimited, ProviderUnavailable, Unrepresentable
from repos import storage
from sync.engine.recovery import CommitInfo, CommitReader, local_reader, remote_is_ours
from sync.engine.types import LOCAL_TRAILER, ExportRequest

T = TypeVar("T")
MODE_EXEC, MODE_LINK, MODE_GITLINK = 0o100755, 0o120000, 0o160000


@dataclass(frozen=True)
class Leaf:
    mode: int
    sha: str


def local_snapshot(repo: Repo, branch: str) -> tuple[bytes, bytes]:
    """(local head sha, its tree): read first, it is what the run records as exported."""
    head = storage.read_ref(repo, storage.branch_ref(branch))
    if head is None:
        raise NotFound(f"The local branch '{branch}' does not exist")
    return head, storage.commit_tree(repo, head)


def local_leaves(repo: Repo, tree: bytes) -> dict[str, Leaf]:
    out: dict[str, Leaf] = {}
    for entry in storage.iter_tree(repo, tree):
        try:
            path = entry.path.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Unrepresentable(
                f"The path {entry.path!r} is not UTF-8; provider APIs cannot name it"
            ) from exc
        out[path] = Leaf(entry.mode, entry.sha.decode())
    return out


RELEASE_EVERY = 32 * 1024 * 1024  # bytes read between two releases of mapped pack pages
_read_since_release: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def read_blob(repo: Repo, sha: str) -> bytes:
    """One blob's bytes, a single copy (no object kept around it)."""
    data = repo.object_store.get_raw(sha.encode())[1]
    store = repo.object_store
    read = _read_since_release.get(store, 0) + len(data)
    if read >= RELEASE_EVERY:
        release_pack_pages(repo)
        read = 0
    _read_since_release[store] = read
    return data


def release_pack_pages(repo: Repo) -> None:
    """Hand back the pages of the mapped pack files that reading has made resident.

    dulwich maps a pack file whole; every page an export reads stays in this process's resident
    set until the mapping closes, so streaming 1 GB out of one pack would leave 1 GB resident
    (clean page cache, but it counts as the worker's memory). ``MADV_DONTNEED`` drops them from
    the process: the file is unchanged, a later read faults the page back in from the cache.
    Private dulwich attributes are read defensively: without them nothing is released.
    """
    for pack in getattr(repo.object_store, "packs", []):
        contents = getattr(getattr(pack, "_data", None), "_contents", None)
        if isinstance(contents, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
            with contextlib.suppress(OSError, ValueError):
                contents.madvise(mmap.MADV_DONTNEED)


def lazy_blob(repo: Repo, sha: str, size: int) -> LazyBlob:
    """Content read from the store only when its request body is written (one file at a time)."""
    return LazyBlob(size, lambda: read_blob(repo, sha))


def refuse_if_remote_moved(
    repo: Repo, req: ExportRequest, remote_head: str | None, local: bytes,
    read: CommitReader | None = None, bases: Iterable[str] = (),
) -> None:
    """Export refuses when the remote branch has commits the last export did not write.

    Commits an earlier, unrecorded run of Coregit wrote are not a divergence (see
    ``sync.engine.recovery``); ``read`` fetches remote commits (default: the local store).
    """
    if req.force or remote_head is None or remote_head == req.last_remote_sha:
        return
    if remote_is_ours(repo, req, remote_head, local, read or local_reader(repo),
                      bases=frozenset(bases)):
        return
    if req.last_remote_sha is not None:
        what = f"it moved since the last export ({req.last_remote_sha[:12]} -> {remote_head[:12]})"
    else:
        what = f"it already has commits (at {remote_head[:12]}) and was never exported to"
    raise Diverged(
        f"Export refused: the remote branch '{req.branch}' on {req.remote_label} has changes "
        f"Coregit does not have: {what}. Trigger with \"force\": true or set "
        '"overwrite_diverged": true on the sync config to export anyway (a new commit is added '
        "on top of the remote branch, its history is kept)."
    )


def commit_info(commit: RemoteCommit) -> CommitInfo:
    return CommitInfo(commit.sha, commit.message, tuple(commit.parents), commit.tree)


def export_message(req: ExportRequest, local: bytes, part: str = "") -> str:
    sha = local.decode()
    return (
        f"Sync from Coregit branch {req.branch} at {sha[:12]}{part}\n\n"
        f"{LOCAL_TRAILER}: {sha}\n"
    )


MAX_INLINE_WAIT = 60.0  # seconds a run may wait in place for a rate limit (secondary limits)
RETRIES = 6  # attempts of one provider call before the run fails (the task may retry later)
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 30.0


class ContentPacer(Protocol):
    """Paces content-creating calls; ``acquire`` blocks until one more may be sent.

    The service injects one shared by every worker using the same credential
    (``connections.providers.pacing.SharedPacer``); ``Pacer`` is the in-process default.
    """

    slept: float

    def acquire(self) -> None: ...
    def backoff(self, seconds: float) -> None: ...


class Pacer(Pausing):
    """Keeps content-creating calls under ``per_minute`` in any 60 s window (thread-safe).

    In-process only: the engine's default when nothing shared is injected. The clock and the
    sleeper are injectable so tests run instantly. ``backoff`` honours a Retry-After.
    """

    def __init__(
        self,
        per_minute: int = 78,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_minute, self.clock, self.sleep = per_minute, clock, sleep
        self._times: deque[float] = deque()
        self._lock = threading.Lock()
        self.slept = 0.0

    def acquire(self) -> None:
        with self._lock:
            now = self.clock()
            while self._times and now - self._times[0] >= 60:
                self._times.popleft()
            if len(self._times) >= self.per_minute:
                wait = 60 - (now - self._times[0])
                self._pause(wait)
                self._times.popleft()
            self._times.append(self.clock())



def _retryable(exc: BaseException) -> bool:
    """Waited out in place: short rate limits, 5xx, reset connections and timeouts.

    A long wait (a primary limit resetting in tens of minutes) is not slept through here: it is
    raised, and the task is rescheduled with that countdown so the worker slot stays free.
    """
    if isinstance(exc, ProviderRateLimited):
        return exc.retry_after <= MAX_INLINE_WAIT
    return isinstance(exc, ProviderUnavailable)


_jitter = wait_exponential_jitter(initial=BACKOFF_FIRST, max=BACKOFF_MAX, jitter=BACKOFF_FIRST)


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, ProviderRateLimited):
        return max(exc.retry_after, 1.0)
    return _jitter(state)


def with_retries(pacer: ContentPacer, call: Callable[[], T], *, content: bool = True) -> T:
    """Run one provider call, paced, retrying it in place (bounded, backoff with jitter).

    Only this call is repeated: whatever the run already sent stays sent, so an export resumes
    where it stopped. Callers make the call safe to repeat (content-addressed Git Data objects,
    or a re-read of the remote state first, see ``export_gitlab``).
    """
    def attempt() -> T:
        if content:
            pacer.acquire()
        return call()

    retrying = Retrying(stop=stop_after_attempt(RETRIES), wait=_wait, sleep=pacer.backoff,
                        retry=retry_if_exception(_retryable), reraise=True)
    return retrying(attempt)


def chunked(items: list[T], *, max_items: int, max_bytes: int, size: Callable[[T], int]
            ) -> Iterator[list[T]]:
    """Consecutive groups under both caps (an item bigger than ``max_bytes`` goes alone)."""
    group: list[T] = []
    used = 0
    for item in items:
        n = size(item)
        if group and (len(group) >= max_items or used + n > max_bytes):
            yield group
            group, used = [], 0
        group.append(item)
        used += n
    if group:
        yield group
