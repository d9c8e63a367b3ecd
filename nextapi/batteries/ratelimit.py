"""Rate limits (R104): `rate_limit("10/minute")`, counted in fixed windows aligned to the clock.

A window of `size` seconds starts at `floor(now / size) * size`, so a minute
window starts on the minute in every process that reads the same clock. Each
request is one `store.hit(key, window_start, window_seconds)`, which returns
the count after this hit; the store alone makes that atomic, so the limit
holds across every worker sharing it. Past the limit the answer is 429.

Stores: `MemoryStore` (the default, one per limiter, this process only) and
`SQLiteStore(path)` (every process on one machine). Anything with a `hit`
method of the `RateLimitStore` shape will do (Redis, say).
"""
from __future__ import annotations

import math
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import HTTPError
from ._base import Battery

if TYPE_CHECKING:  # PERF: nextapi._types only names types, for type checkers (cold start)
    from .._types import Next
    from ..request import Request
    from ..response import Response

__all__ = ["MemoryStore", "RateLimit", "RateLimitStore", "SQLiteStore", "parse_limit", "rate_limit"]

UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_LIMIT = re.compile(r"\s*(\d+)\s*/\s*(second|minute|hour|day)s?\s*", re.IGNORECASE)


class RateLimitStore(Protocol):
    """Where counts live. One method; it must be atomic for everyone sharing the store."""

    def hit(self, key: str, window_start: int, window_seconds: int) -> int:
        """Count one request for `key` in the window starting at `window_start` (Unix seconds,
        a multiple of `window_seconds`); return the count after it, this request included.

        The window is over at `window_start + window_seconds`: its count may be forgotten then.
        """
        ...


def parse_limit(limit: str) -> tuple[int, int]:
    """`"10/minute"` -> `(10, 60)`: requests, window seconds. Units: second, minute, hour, day."""
    m = _LIMIT.fullmatch(limit) if isinstance(limit, str) else None
    if m is None or int(m.group(1)) < 1:
        raise ValueError(f"rate limit {limit!r}: expected a count of at least 1 per second, minute, "
                         f"hour or day, such as '10/minute'")
    return int(m.group(1)), UNITS[m.group(2).lower()]


class MemoryStore:
    """Counts in this process's memory, safe across its threads. Each process counts alone."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[tuple[int, int], dict[str, int]] = {}  # (start, seconds) -> key -> count

    def hit(self, key: str, window_start: int, window_seconds: int) -> int:
        with self._lock:
            window = self._windows.get((window_start, window_seconds))
            if window is None:  # a new window: those already over are dropped, keys and all
                for start, seconds in [w for w in self._windows if w[0] + w[1] <= window_start]:
                    del self._windows[start, seconds]
                window = self._windows[window_start, window_seconds] = {}
            count = window[key] = window.get(key, 0) + 1
            return count


class SQLiteStore:
    """Counts in one SQLite file, shared by every process and thread on the machine.

    Each hit is one `BEGIN IMMEDIATE` transaction (increment, then read), so
    concurrent workers never both see the same count. The file is in WAL mode;
    a busy database is waited for up to `timeout` seconds. Connections are
    opened lazily, one per thread, and anew in a forked child. Windows that are
    over are deleted, once per new window a process sees.
    """

    TABLE = "nextapi_rate_limit"

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 5.0) -> None:
        self.path = os.fspath(path)
        self.timeout = timeout
        self._local = threading.local()
        self._pid = os.getpid()
        self._inherited: list[threading.local] = []  # a parent's connections: never used, never closed
        self._purged = 0  # the newest window start this process purged up to

    def _connection(self) -> sqlite3.Connection:
        if os.getpid() != self._pid:  # forked: the parent's connections are not ours to use
            # No lock: one held by another parent thread at the fork would never be released
            # here. Two child threads racing at worst open one connection more.
            self._inherited.append(self._local)
            self._local, self._pid, self._purged = threading.local(), os.getpid(), 0
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
        return conn

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            _retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL"), self.timeout)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(f"CREATE TABLE IF NOT EXISTS {self.TABLE} (key TEXT NOT NULL, "
                         "window_start INTEGER NOT NULL, window_seconds INTEGER NOT NULL, "
                         "ends INTEGER NOT NULL, count INTEGER NOT NULL, "
                         "PRIMARY KEY (key, window_start, window_seconds)) WITHOUT ROWID")
            conn.execute(f"CREATE INDEX IF NOT EXISTS {self.TABLE}_ends ON {self.TABLE} (ends)")
        except BaseException:
            conn.close()
            raise
        return conn

    def hit(self, key: str, window_start: int, window_seconds: int) -> int:
        conn = self._connection()
        row = (key, window_start, window_seconds)
        conn.execute("BEGIN IMMEDIATE")
        try:
            if window_start > self._purged:  # now and then: the windows already over go
                self._purged = window_start
                conn.execute(f"DELETE FROM {self.TABLE} WHERE ends <= ?", (window_start,))
            cur = conn.execute(f"UPDATE {self.TABLE} SET count = count + 1 "
                               "WHERE key = ? AND window_start = ? AND window_seconds = ?", row)
            if cur.rowcount == 0:
                conn.execute(f"INSERT INTO {self.TABLE} VALUES (?, ?, ?, ?, 1)",
                             (*row, window_start + window_seconds))
                count = 1
            else:
                count = conn.execute(f"SELECT count FROM {self.TABLE} "
                                     "WHERE key = ? AND window_start = ? AND window_seconds = ?",
                                     row).fetchone()[0]
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return int(count)

    def close(self) -> None:
        """Close this thread's connection (another is opened if the store is used again)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            conn.close()


def _retry_busy(fn: Callable[[], Any], timeout: float) -> Any:
    """Switching to WAL may answer `database is locked` at once while other processes
    open the same new file: try again until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class RateLimit(Battery):
    """At most `limit` requests per key and window; the headers on every response it covers.

    `clock` (default `time.time`) gives the seconds since the epoch: tests may replace it.
    """

    def __init__(self, limit: str, *, key: Callable[[Request], str | None] | None = None,
                 store: RateLimitStore | None = None) -> None:
        self.limit, self.window = parse_limit(limit)
        self.key = key
        self.store: RateLimitStore = MemoryStore() if store is None else store
        self.clock: Callable[[], float] = time.time
        # Limiters sharing a store are told apart by their limit: "10/60|<key>".
        self._prefix = f"{self.limit}/{self.window}|"

    def __repr__(self) -> str:
        return f"rate_limit({self.limit}/{self.window}s, store={self.store!r})"

    def handle(self, req: Request, res: Response, next: Next) -> Any:
        name = req.ip if self.key is None else self.key(req)
        if name is None:  # the key function let this request through, uncounted
            return next()
        now = self.clock()
        start = int(now // self.window) * self.window
        count = self.store.hit(self._prefix + str(name), start, self.window)
        reset = max(1, math.ceil(start + self.window - now))
        res.set_header("RateLimit-Limit", self.limit)
        res.set_header("RateLimit-Remaining", max(0, self.limit - count))
        res.set_header("RateLimit-Reset", reset)
        if count > self.limit:
            raise HTTPError(429, "Too Many Requests", headers={"Retry-After": str(reset)})
        return next()


def rate_limit(limit: str, *, key: Callable[[Request], str | None] | None = None,
               store: RateLimitStore | None = None) -> RateLimit:
    """A middleware (and decorator) allowing `limit` requests per key and window.

    `limit` is `"N/second"`, `"N/minute"`, `"N/hour"` or `"N/day"` (a ValueError
    otherwise). `key(req)` names who is counted (default `req.ip`; `None` lets a
    request through uncounted). `store` defaults to a `MemoryStore` of its own.
    """
    return RateLimit(limit, key=key, store=store)
