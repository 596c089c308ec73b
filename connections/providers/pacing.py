"""Content-creation pacing shared by every worker process that uses one credential.

GitHub's secondary limit counts content-creating requests per user or installation (80 a minute),
not per run, so two exports through one connection must share one budget. The budget is a moving
window (the exact rule GitHub applies: no 60 s window holds more than N requests) kept by the
``limits`` library: with Redis its atomic Lua moving window, so any number of worker processes on
any number of machines share it. Without Redis (the embedded default, whose broker is a local
directory) the same window lives in a SQLite file under the data directory; SQLite's write lock
(``BEGIN IMMEDIATE``) makes check-and-record atomic across the processes of one machine, which is
all the embedded mode runs.

Keys are a hash of the connection's credentials hash (never a token). The engine only sees the
``acquire()`` / ``backoff()`` protocol (``sync.engine.api_common.ContentPacer``).
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from limits import parse
from limits.storage import MovingWindowSupport, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from connections.providers.base import Pausing

# GitHub allows 80 a minute, counted when requests arrive; the window here counts them when they
# leave, and a thread may be held up (GIL, a loaded machine) between its turn and its send, or
# another worker's clock may run a little ahead. Two requests and two seconds of margin absorb it.
GITHUB_CONTENT_LIMIT = "78 per 62 seconds"
MIN_WAIT = 0.05


class SharedPacer(Pausing):
    """Blocks ``acquire()`` until the shared window has room, then records the request in it."""

    def __init__(self, storage: Storage, key: str, *, limit: str = GITHUB_CONTENT_LIMIT,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.limiter = MovingWindowRateLimiter(storage)
        self.item = parse(limit)
        self.key, self.sleep = key, sleep
        self.slept = 0.0

    def acquire(self) -> None:
        while not self.limiter.hit(self.item, self.key):
            reset, _ = self.limiter.get_window_stats(self.item, self.key)
            # Jitter: processes woken by the same expiring entry do not all retry at once.
            self._pause(max(reset - time.time(), MIN_WAIT) + random.uniform(0, 0.2))  # noqa: S311



class SQLiteWindowStorage(Storage, MovingWindowSupport):
    """A ``limits`` moving-window storage in one SQLite file, safe across local processes."""

    STORAGE_SCHEME = ["coregit+sqlite"]

    def __init__(self, path: Path | str, **options) -> None:
        super().__init__(**options)
        self.path = str(path)
        self._local = threading.local()
        with self._tx() as db:
            db.execute("CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, at REAL NOT NULL)")
            db.execute("CREATE INDEX IF NOT EXISTS hits_key_at ON hits (key, at)")

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self._local.db = db
        return db

    def _tx(self):
        return _Immediate(self._db())

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        now = time.time()
        with self._tx() as db:
            db.execute("DELETE FROM hits WHERE key = ? AND at < ?", (key, now - expiry))
            (count,) = db.execute("SELECT COUNT(*) FROM hits WHERE key = ?", (key,)).fetchone()
            if count + amount > limit:
                return False
            db.executemany("INSERT INTO hits VALUES (?, ?)", [(key, now)] * amount)
            return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = time.time()
        with self._tx() as db:
            oldest, count = db.execute("SELECT MIN(at), COUNT(*) FROM hits WHERE key = ? AND at >= ?",
                                       (key, now - expiry)).fetchone()
        return (oldest if oldest is not None else now), count

    # Fixed-window operations: not used by the moving-window limiter.
    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        raise NotImplementedError

    def get(self, key: str) -> int:
        raise NotImplementedError

    def get_expiry(self, key: str) -> float:
        raise NotImplementedError

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self._tx() as db:
            return db.execute("DELETE FROM hits").rowcount

    def clear(self, key: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM hits WHERE key = ?", (key,))


class _Immediate:
    """``BEGIN IMMEDIATE`` … ``COMMIT``: takes SQLite's write lock before reading the window."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


_storages: dict[str, Storage] = {}
_storages_lock = threading.Lock()


def window_storage(broker_url: str, data_dir: Path | str) -> Storage:
    """Redis when the broker is Redis (shared by every worker), else a SQLite file in data_dir."""
    if broker_url.startswith(("redis://", "rediss://")):
        where = broker_url
    else:
        where = str(Path(data_dir) / "pacing.sqlite3")
    with _storages_lock:
        if where not in _storages:
            if where == broker_url:
                _storages[where] = RedisStorage(broker_url, key_prefix="coregit-pacing")
            else:
                Path(data_dir).mkdir(parents=True, exist_ok=True)
                _storages[where] = SQLiteWindowStorage(where)
        return _storages[where]


def pacing_key(provider: str, credentials_hash: str) -> str:
    """A window per credential: the stored keyed hash, hashed again (no token, no reversal)."""
    digest = hashlib.sha256(f"{provider}:{credentials_hash}".encode()).hexdigest()[:32]
    return f"content:{provider}:{digest}"
