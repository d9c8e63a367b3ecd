"""POST /api/comments with an Idempotency-Key (samples/board, on SQLite): exactly-once posts.

The IETF draft's semantics: a repeat with the same key and body gets the first answer (same
status and body), the same key with another body is a 422, a malformed key a 400; the key is
stored in the comment's own transaction, so a retry after a lost answer never duplicates and a
retry after a failure never loses the write; duplicates sent at the same time make one comment;
keys expire after board_db.KEY_TTL_S. tests/cluster runs the same on PostgreSQL behind nginx.
"""
from __future__ import annotations

import socket
import sqlite3
import sys
import threading
from pathlib import Path

import pytest

from nextapi import App
from nextapi.testing import Client
from tests.helpers import ROOT

BOARD = ROOT / "samples" / "board"


@pytest.fixture
def db(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "board.db"
    monkeypatch.setenv("BOARD_DB", str(path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return path


@pytest.fixture
def board(db) -> Client:
    return Client(App(BOARD / "pages"))


@pytest.fixture
def board_db(board):
    """The module the app's handlers use (imported by the App from the board's folder)."""
    return sys.modules["board_db"]


def post(client: Client, body, key: str | None = None, **headers):
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/api/comments", json=body, headers=headers)


def rows(db: Path, sql: str = "SELECT id, text FROM comments ORDER BY id") -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_a_repeat_with_the_same_key_and_body_gets_the_first_answer(board, db):
    first = post(board, {"text": "once"}, key="k-1")
    assert first.status == 201 and "Idempotent-Replayed" not in first.headers
    again = post(board, {"text": "once"}, key="k-1")
    assert (again.status, again.content) == (201, first.content)  # the same status and bytes
    assert again.headers["Location"] == first.headers["Location"] == f"/api/comments/{first.json()['id']}"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert rows(db) == [(first.json()["id"], "once")]


def test_the_same_key_with_another_body_is_a_422(board, db):
    first = post(board, {"text": "one"}, key="k-2")
    other = post(board, {"text": "two"}, key="k-2")
    assert (other.status, other.json()) == (422, {"error": "Idempotency-Key was already used with a "
                                                           "different request body"})
    assert post(board, {"text": "one", "name": "Ada"}, key="k-2").status == 422  # another field
    assert post(board, {"text": "one"}, key="k-2").content == first.content  # the first still replays
    assert rows(db) == [(first.json()["id"], "one")]


def test_the_body_is_compared_as_json_not_as_bytes(board, db):
    first = board.post("/api/comments", body=b'{"text": "hi", "name": "Ada"}',
                       headers={"Content-Type": "application/json", "Idempotency-Key": "k-3"})
    again = board.post("/api/comments", body=b'{ "name":"Ada",\n "text":"hi" }',
                       headers={"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": "k-3"})
    assert first.status == again.status == 201 and again.json() == first.json()
    assert len(rows(db)) == 1


def test_keys_are_case_sensitive_and_a_quoted_key_is_the_bare_one(board, db):
    a = post(board, {"text": "x"}, key='"Key-4"')  # the draft's structured-field string
    assert post(board, {"text": "x"}, key="Key-4").content == a.content
    assert post(board, {"text": "x"}, key='"Key-\\"4\\""').status == 201  # escapes: the key Key-"4"
    assert post(board, {"text": "x"}, key="key-4").status == 201  # another key
    assert len(rows(db)) == 3


def test_without_a_key_every_post_is_a_new_comment(board, db):
    assert post(board, {"text": "same"}).json()["id"] != post(board, {"text": "same"}).json()["id"]
    assert rows(db, "SELECT count(*) FROM idempotency_keys") == [(0,)]


@pytest.mark.parametrize("key", ["", "   ", '"', '""', '"open', 'two words', 'a, b', "k\x7f", "ключ",
                                 "x" * 256, '"' + "x" * 256 + '"', 'bare"quote'])
def test_a_malformed_key_is_a_400_and_writes_nothing(board, db, key):
    resp = board.post("/api/comments", json={"text": "hi"}, headers={"Idempotency-Key": key})
    assert (resp.status, resp.json()) == (400, {"error": "Idempotency-Key must be 1 to 255 printable ASCII "
                                                         "characters"})
    assert board.get("/api/comments").json() == []


def test_the_longest_key_is_accepted(board):
    assert post(board, {"text": "hi"}, key="x" * 255).status == 201


def test_an_invalid_body_is_not_remembered_under_its_key(board, db):
    assert post(board, {"text": ""}, key="k-5").status == 422  # the typed body refuses it first
    assert post(board, {"text": "fixed"}, key="k-5").status == 201  # the key was not used up
    assert rows(db, "SELECT text FROM comments") == [("fixed",)]


def test_the_key_and_the_answer_are_stored_with_the_comment(board, db):
    comment = post(board, {"text": "stored"}, key="k-6").json()
    [(key, status, response)] = rows(db, "SELECT key, status, response FROM idempotency_keys")
    assert (key, status) == ("k-6", 201)
    import json
    assert json.loads(response) == comment


def test_a_failed_transaction_stores_no_key_so_the_retry_writes(board, board_db, db, monkeypatch):
    """The comment's INSERT fails after the key was claimed: both roll back together."""
    real = board_db._insert_comment
    calls = []

    def flaky(conn, text, name):
        calls.append(text)
        if len(calls) == 1:
            raise sqlite3.OperationalError("disk I/O error")  # as if the write failed half-way
        return real(conn, text, name)

    monkeypatch.setattr(board_db, "_insert_comment", flaky)
    failed = Client(board.app, raise_server_exceptions=False)
    assert post(failed, {"text": "retry me"}, key="k-7").status == 500
    assert rows(db, "SELECT count(*) FROM idempotency_keys") == [(0,)]
    retried = post(board, {"text": "retry me"}, key="k-7")
    assert retried.status == 201 and "Idempotent-Replayed" not in retried.headers
    assert rows(db, "SELECT text FROM comments") == [("retry me",)]


def test_concurrent_duplicates_make_one_comment_and_get_one_answer(board, db):
    """Eight requests with one key at once (threads, a connection each): SQLite's write lock
    (BEGIN IMMEDIATE) runs them one after the other; the first writes, the others replay."""
    n = 8
    barrier = threading.Barrier(n)
    answers: list[tuple[int, bytes]] = []

    def send() -> None:
        client = Client(board.app)
        barrier.wait(timeout=10)
        resp = post(client, {"text": "raced"}, key="k-8")
        answers.append((resp.status, resp.content))

    threads = [threading.Thread(target=send) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(answers) == n and len(set(answers)) == 1 and answers[0][0] == 201
    assert rows(db, "SELECT text FROM comments") == [("raced",)]


def test_a_replay_after_the_comment_was_deleted_is_still_the_first_answer(board, db):
    first = post(board, {"text": "gone"}, key="k-9")
    assert board.delete(first.headers["Location"]).status == 204
    assert post(board, {"text": "gone"}, key="k-9").content == first.content
    assert rows(db) == []  # not written again


def test_keys_expire_after_the_ttl(board, board_db, db, monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(board_db, "clock", lambda: now[0])
    first = post(board, {"text": "old"}, key="k-10").json()
    now[0] += board_db.KEY_TTL_S - 1
    assert post(board, {"text": "old"}, key="k-10").json() == first  # still remembered
    assert post(board, {"text": "other"}, key="k-10").status == 422
    now[0] += 2  # past the TTL: the key is free again
    again = post(board, {"text": "other"}, key="k-10")
    assert again.status == 201 and again.json()["id"] != first["id"]
    assert [t for _, t in rows(db)] == ["old", "other"]


def test_expired_keys_are_purged(board, board_db, db, monkeypatch):
    now = [2_000_000.0]
    monkeypatch.setattr(board_db, "clock", lambda: now[0])
    monkeypatch.setattr(board_db, "_last_purge", [0.0])
    for i in range(3):
        post(board, {"text": f"t{i}"}, key=f"old-{i}")
    now[0] += board_db.KEY_TTL_S + board_db.PURGE_EVERY_S + 1
    post(board, {"text": "new"}, key="new")
    assert rows(db, "SELECT key FROM idempotency_keys") == [("new",)]
    assert len(rows(db)) == 4  # the comments stay


def test_an_older_database_gets_the_keys_table(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE comments (id INTEGER PRIMARY KEY AUTOINCREMENT, text TEXT NOT NULL, "
                     "created TEXT NOT NULL, name TEXT)")
    conn.close()
    monkeypatch.setenv("BOARD_DB", str(path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert post(Client(App(BOARD / "pages")), {"text": "hi"}, key="k-11").status == 201


def test_without_a_database_url_psycopg_is_never_imported(board):
    post(board, {"text": "sqlite"}, key="k-12")
    assert "board_pg" not in sys.modules


def test_an_unreachable_postgresql_is_a_503_json_with_retry_after(tmp_path, monkeypatch):
    """Runs where psycopg is installed (tests/cluster/.venv has it; make test's venv does not)."""
    pytest.importorskip("psycopg", reason="psycopg is not installed (samples/board/requirements.txt)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("DATABASE_URL", f"postgresql://board@127.0.0.1:{port}/board")
    client = Client(App(BOARD / "pages"))
    for method, path in [("GET", "/api/comments"), ("POST", "/api/comments"), ("GET", "/api/comments/1")]:
        resp = client.request(method, path, json={"text": "x"} if method == "POST" else None)
        assert resp.status == 503, resp.text
        assert resp.json() == {"error": "Service Unavailable"}
        assert resp.headers["Retry-After"] == "2"
