"""SQLite storage for the board sample: a connection per request, WAL, a busy timeout.

Safe under gunicorn with several worker processes: no connection is shared
between requests or across a fork, WAL lets readers run beside the one
writer, and a writer that finds the database locked waits (busy timeout)
instead of failing. The handlers reach this module with `import board_db`,
because the folder that holds `pages/` is importable (R11).
"""
from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

DEFAULT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "board.db")
BUSY_TIMEOUT_S = 10.0
LIST_LIMIT = 100  # the newest comments a page shows

_SCHEMA = """
CREATE TABLE IF NOT EXISTS comments (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused after a delete
    text    TEXT NOT NULL,
    created TEXT NOT NULL,                       -- ISO 8601, UTC
    name    TEXT                                 -- who wrote it; NULL: anonymous
)
"""
_ready: set[str] = set()  # database files this process has set up
_ready_lock = threading.Lock()


def db_path() -> str:
    """`BOARD_DB` when set (tests use a temporary file), else board.db beside this module."""
    return os.environ.get("BOARD_DB") or DEFAULT_PATH


@contextmanager
def connect() -> Iterator[sqlite3.Connection]:
    """A fresh connection for one request, closed at the end of it."""
    path = db_path()
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)  # the timeout is SQLite's busy timeout
    try:
        conn.row_factory = sqlite3.Row
        if path not in _ready:
            with _ready_lock:
                conn.execute("PRAGMA journal_mode = WAL")  # persistent: stored in the file
                with conn:
                    conn.execute(_SCHEMA)
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


def _row(row: sqlite3.Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"id": row["id"], "text": row["text"], "created": row["created"], "name": row["name"]}


def list_comments(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT id, text, created, name FROM comments ORDER BY id DESC LIMIT ?", (LIST_LIMIT,))
    return [_row(r) for r in rows]


def get_comment(conn: sqlite3.Connection, comment_id: int) -> dict[str, Any] | None:
    return _row(conn.execute("SELECT id, text, created, name FROM comments WHERE id = ?", (comment_id,)).fetchone())


def add_comment(conn: sqlite3.Connection, text: str, name: str | None = None) -> dict[str, Any]:
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with conn:  # one transaction, committed here
        cur = conn.execute("INSERT INTO comments (text, created, name) VALUES (?, ?, ?)", (text, created, name))
    return {"id": cur.lastrowid, "text": text, "created": created, "name": name}


def delete_comment(conn: sqlite3.Connection, comment_id: int) -> bool:
    with conn:
        cur = conn.execute("DELETE FROM comments WHERE id = ?", (comment_id,))
    return cur.rowcount == 1
