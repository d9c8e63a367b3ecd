"""Storage for the board sample: SQLite by default, PostgreSQL when `DATABASE_URL` is set.

SQLite (one machine): a connection per request, WAL, a busy timeout. Safe under
gunicorn with several worker processes: no connection is shared between
requests or across a fork, WAL lets readers run beside the one writer, and a
writer that finds the database locked waits (busy timeout) instead of failing.

PostgreSQL (several machines, `DATABASE_URL=postgresql://user:pass@host/db`):
board_pg.py, a small pool per worker process opened lazily after the fork,
bounded timeouts, and a 503 `{"error": "Service Unavailable"}` with
Retry-After while the database cannot be reached (it needs psycopg 3:
requirements.txt beside this file). The handlers call the same functions
either way; they reach this module with `import board_db`, because the folder
that holds `pages/` is importable (R11).

Exactly-once posts: `add_comment_once` stores the Idempotency-Key, a
fingerprint of the request body and the answer in the same transaction as the
comment, so a client that retries with its key after a lost answer gets the
first answer again and never a second comment (see docs/deploy.md).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from nextapi import HTTPError

DEFAULT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "board.db")
BUSY_TIMEOUT_S = 10.0
LIST_LIMIT = 100  # the newest comments a page shows
KEY_TTL_S = 24 * 3600  # an Idempotency-Key is remembered this long, then it may be used again
PURGE_EVERY_S = 600  # each process deletes expired keys at most this often
MAX_KEY = 255  # characters in an Idempotency-Key

_SCHEMA = """
CREATE TABLE IF NOT EXISTS comments (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused after a delete
    text    TEXT NOT NULL,
    created TEXT NOT NULL,                       -- ISO 8601, UTC
    name    TEXT                                 -- who wrote it; NULL: anonymous
)
"""
# One row per Idempotency-Key of POST /api/comments: written in the comment's own transaction.
_KEYS_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS idempotency_keys (
        key         TEXT PRIMARY KEY,  -- the client's Idempotency-Key
        fingerprint TEXT NOT NULL,     -- SHA-256 of the request body (canonical JSON)
        created_at  REAL NOT NULL,     -- Unix time; expired after KEY_TTL_S
        status      INTEGER,           -- the first answer: status and JSON body
        response    TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS idempotency_keys_created_at ON idempotency_keys (created_at)",
)
_ready: set[str] = set()  # database files this process has set up
_ready_lock = threading.Lock()
_last_purge = [0.0]  # when this process last deleted expired keys (clock())
clock = time.time  # the keys' clock (tests set their own)


class Unavailable(HTTPError):
    """The database cannot be reached now: 503 Service Unavailable with Retry-After, never a
    traceback. Raised by board_pg; a client retries after `Retry-After` seconds."""

    RETRY_AFTER_S = 2

    def __init__(self) -> None:
        super().__init__(503, "Service Unavailable", headers={"Retry-After": str(self.RETRY_AFTER_S)})


class KeyReused(HTTPError):
    """The Idempotency-Key was already used with another request body: 422, as the draft says."""

    def __init__(self) -> None:
        super().__init__(422, "Idempotency-Key was already used with a different request body")


def database_url() -> str | None:
    """`DATABASE_URL` when set: the board then lives in PostgreSQL (board_pg.py)."""
    return os.environ.get("DATABASE_URL") or None


def db_path() -> str:
    """`BOARD_DB` when set (tests use a temporary file), else board.db beside this module."""
    return os.environ.get("BOARD_DB") or DEFAULT_PATH


@contextmanager
def connect() -> Iterator[Any]:
    """A connection for one request: SQLite's is fresh and closed at the end; PostgreSQL's
    comes from this process's pool and goes back to it (board_pg.connect)."""
    if database_url():
        import board_pg  # only here: SQLite needs no psycopg

        with board_pg.connect() as conn:
            yield conn
        return
    path = db_path()
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)  # the timeout is SQLite's busy timeout
    try:
        conn.row_factory = sqlite3.Row
        if path not in _ready:
            with _ready_lock:
                conn.execute("PRAGMA journal_mode = WAL")  # persistent: stored in the file
                with conn:
                    conn.execute(_SCHEMA)
                    for statement in _KEYS_SCHEMA:
                        conn.execute(statement)
                _add_name_column(conn)
                _ready.add(path)
        yield conn
    finally:
        conn.close()


def _add_name_column(conn: sqlite3.Connection) -> None:
    """A board.db made before comments had a name gets the column (NULL for the old ones)."""
    if "name" in {row["name"] for row in conn.execute("PRAGMA table_info(comments)")}:
        return
    try:
        conn.execute("ALTER TABLE comments ADD COLUMN name TEXT")
    except sqlite3.OperationalError as exc:  # another process added it first
        if "duplicate column" not in str(exc):
            raise


def _sqlite(conn: Any) -> bool:
    return isinstance(conn, sqlite3.Connection)


def _execute(conn: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """The same SQL on both: `?` placeholders become psycopg's `%s` on PostgreSQL."""
    return conn.execute(sql if _sqlite(conn) else sql.replace("?", "%s"), params)


@contextmanager
def _transaction(conn: Any) -> Iterator[None]:
    """One write transaction. SQLite: BEGIN IMMEDIATE takes the write lock first, so reading a
    key and writing the comment cannot interleave with another writer. PostgreSQL: a
    transaction on an autocommit connection; the key's unique index serializes duplicates."""
    if not _sqlite(conn):
        with conn.transaction():
            yield
        return
    conn.execute("BEGIN IMMEDIATE")  # waits up to the busy timeout for the write lock
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def _row(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"id": row["id"], "text": row["text"], "created": row["created"], "name": row["name"]}


def list_comments(conn: Any) -> list[dict[str, Any]]:
    rows = _execute(conn, "SELECT id, text, created, name FROM comments ORDER BY id DESC LIMIT ?", (LIST_LIMIT,))
    return [_row(r) for r in rows]


def get_comment(conn: Any, comment_id: int) -> dict[str, Any] | None:
    return _row(_execute(conn, "SELECT id, text, created, name FROM comments WHERE id = ?",
                         (comment_id,)).fetchone())


def _insert_comment(conn: Any, text: str, name: str | None) -> dict[str, Any]:
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    cur = _execute(conn, "INSERT INTO comments (text, created, name) VALUES (?, ?, ?) RETURNING id",
                   (text, created, name))
    comment_id = cur.fetchone()["id"]
    return {"id": comment_id, "text": text, "created": created, "name": name}


def add_comment(conn: Any, text: str, name: str | None = None) -> dict[str, Any]:
    if _sqlite(conn):
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with conn:  # one transaction, committed here
            cur = conn.execute("INSERT INTO comments (text, created, name) VALUES (?, ?, ?)", (text, created, name))
        return {"id": cur.lastrowid, "text": text, "created": created, "name": name}
    with _transaction(conn):
        return _insert_comment(conn, text, name)


def delete_comment(conn: Any, comment_id: int) -> bool:
    if _sqlite(conn):
        with conn:
            cur = conn.execute("DELETE FROM comments WHERE id = ?", (comment_id,))
        return cur.rowcount == 1
    return _execute(conn, "DELETE FROM comments WHERE id = ?", (comment_id,)).rowcount == 1


# -- Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) --------------------------

_QUOTED = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"')  # an sf-string (RFC 8941)
_BARE = re.compile(r"[\x21\x23-\x7e]+")  # what many clients send: printable ASCII, no quote


def idempotency_key(value: str | None) -> str | None:
    """The key of an `Idempotency-Key` header, or None without one. The draft's form is a
    structured-field string (`"8e03978e-..."`); a bare token is accepted too. Anything else
    (empty, over MAX_KEY characters, not printable ASCII, two headers joined) is a 400."""
    if value is None:
        return None
    value = value.strip(" \t")
    quoted = _QUOTED.fullmatch(value)
    if quoted:
        key = re.sub(r"\\(.)", r"\1", quoted.group(1))
    elif _BARE.fullmatch(value):
        key = value
    else:
        key = ""
    if not key or len(key) > MAX_KEY:
        raise HTTPError(400, f"Idempotency-Key must be 1 to {MAX_KEY} printable ASCII characters")
    return key


def fingerprint(body: Any) -> str:
    """SHA-256 of the body as canonical JSON (sorted keys, no spaces): the same JSON value sent
    again matches whatever its formatting; any other value is another request."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def add_comment_once(conn: Any, text: str, name: str | None, key: str, body_fingerprint: str,
                     *, now: float | None = None) -> tuple[int, dict[str, Any], bool]:
    """Add the comment unless `key` was used before: (status, body, replayed).

    In one transaction: claim the key (INSERT ... ON CONFLICT DO NOTHING), insert the
    comment, store the answer beside the key. A key already there (from a request whose answer
    was lost, or a duplicate that ran at the same time: PostgreSQL makes the second INSERT wait
    on the first's uncommitted row, SQLite's write lock runs them one after the other) gives the
    stored answer back, replayed=True; the same key with another fingerprint is KeyReused (422).
    A key older than KEY_TTL_S is forgotten and may be used again. Nothing is stored when the
    transaction fails, so a retry after an error writes the comment then.
    """
    now = clock() if now is None else now
    _purge_expired(conn, now)
    with _transaction(conn):
        _execute(conn, "DELETE FROM idempotency_keys WHERE key = ? AND created_at < ?", (key, now - KEY_TTL_S))
        claimed = _execute(conn, "INSERT INTO idempotency_keys (key, fingerprint, created_at) VALUES (?, ?, ?) "
                                 "ON CONFLICT (key) DO NOTHING", (key, body_fingerprint, now)).rowcount == 1
        if claimed:
            comment = _insert_comment(conn, text, name)
            _execute(conn, "UPDATE idempotency_keys SET status = ?, response = ? WHERE key = ?",
                     (201, json.dumps(comment), key))
            return 201, comment, False
        stored = _execute(conn, "SELECT fingerprint, status, response FROM idempotency_keys WHERE key = ?",
                          (key,)).fetchone()
    if stored is None or stored["status"] is None:  # cannot happen: the claim and the answer commit together
        raise HTTPError(409, "A request with this Idempotency-Key is still in progress")
    if stored["fingerprint"] != body_fingerprint:
        raise KeyReused()
    return stored["status"], json.loads(stored["response"]), True


def _purge_expired(conn: Any, now: float) -> None:
    """Delete expired keys, at most once per PURGE_EVERY_S in each process, in a transaction of
    its own (a bulk delete never holds up the comment's)."""
    if now - _last_purge[0] < PURGE_EVERY_S:
        return
    _last_purge[0] = now
    with _transaction(conn):
        _execute(conn, "DELETE FROM idempotency_keys WHERE created_at < ?", (now - KEY_TTL_S,))
