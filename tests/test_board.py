"""The board sample (samples/board): a page, public files and a SQLite-backed JSON API."""
from __future__ import annotations

import multiprocessing
import sqlite3
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
    return path


@pytest.fixture
def board(db) -> Client:
    return Client(App(BOARD / "pages"))


def post(client: Client, text) -> dict:
    resp = client.post("/api/comments", json={"text": text})
    assert resp.status == 201, resp.text
    return resp.json()


def test_the_page_and_its_public_files_are_served(board):
    page = board.get("/")
    assert page.status == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    for needle in ('fetch(url, init)', '"/api/comments"', '"POST"', '"DELETE"', 'href="/board.css"'):
        assert needle in page.text
    assert board.get("/board.css").headers["Content-Type"] == "text/css; charset=utf-8"
    assert board.get("/favicon.svg").headers["Content-Type"].startswith("image/svg+xml")


def test_an_empty_board_lists_nothing(board):
    resp = board.get("/api/comments")
    assert (resp.status, resp.json()) == (200, [])


def test_post_list_get_and_delete_a_comment(board):
    created = board.post("/api/comments", json={"text": "  hello board  "})
    assert created.status == 201
    comment = created.json()
    assert comment["text"] == "hello board"
    assert isinstance(comment["id"], int) and comment["created"].endswith("+00:00")
    assert created.headers["Location"] == f"/api/comments/{comment['id']}"

    second = post(board, "second")
    assert board.get("/api/comments").json() == [second, comment]  # newest first
    assert board.get(f"/api/comments/{comment['id']}").json() == comment

    deleted = board.delete(f"/api/comments/{comment['id']}")
    assert (deleted.status, deleted.content) == (204, b"")
    assert board.get("/api/comments").json() == [second]
    gone = board.delete(f"/api/comments/{comment['id']}")
    assert (gone.status, gone.json()) == (404, {"error": "Comment not found"})
    assert board.get(f"/api/comments/{comment['id']}").status == 404


def test_the_visitors_name_is_remembered_in_a_signed_session(board):
    assert board.get("/api/me").json() == {"name": None}
    assert post(board, "anonymous")["name"] is None
    resp = board.post("/api/comments", json={"text": "hi", "name": "  Ada  "})
    assert resp.json()["name"] == "Ada"
    [cookie] = resp.headers.get_all("Set-Cookie")
    assert cookie.startswith("session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert board.get("/api/me").json() == {"name": "Ada"}  # as the page asks on its next load
    assert post(board, "again, without a name")["name"] == "Ada"  # the remembered one
    assert board.get("/api/me").headers.get_all("Set-Cookie") == []  # reading it writes nothing
    stranger = Client(board.app)  # another browser: its own cookie jar
    assert stranger.get("/api/me").json() == {"name": None}
    assert board.get("/api/comments").json()[0]["name"] == "Ada"
    # An empty name posts anonymously and forgets it; a forged cookie is just no session.
    assert board.post("/api/comments", json={"text": "shh", "name": ""}).json()["name"] is None
    assert board.get("/api/me").json() == {"name": None}
    board.cookies["session"] = "eyJuYW1lIjoiTWFsbG9yeSJ9.1700000000." + "A" * 43
    assert board.get("/api/me").json() == {"name": None}


@pytest.mark.parametrize("name, kind", [(42, "string_type"), (["Ada"], "string_type"), ("x" * 41, "string_too_long")])
def test_invalid_names_answer_422_and_are_not_remembered(board, name, kind):
    resp = board.post("/api/comments", json={"text": "hi", "name": name})
    assert resp.status == 422 and resp.json()["error"] == "Invalid request"
    assert [(p["loc"], p["type"]) for p in resp.json()["detail"]] == [(["body", "name"], kind)]
    assert resp.headers.get_all("Set-Cookie") == []
    assert board.get("/api/comments").json() == []


def test_an_old_database_gets_the_name_column(db):
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE comments (id INTEGER PRIMARY KEY AUTOINCREMENT, text TEXT NOT NULL, "
                     "created TEXT NOT NULL)")
        conn.execute("INSERT INTO comments (text, created) VALUES ('from before', '2024-01-01T00:00:00+00:00')")
    conn.close()
    client = Client(App(BOARD / "pages"))
    assert client.get("/api/comments").json() == [
        {"id": 1, "text": "from before", "created": "2024-01-01T00:00:00+00:00", "name": None}]
    assert post(client, "new")["id"] == 2


def test_ids_are_not_reused_after_a_delete(board):
    first = post(board, "one")
    board.delete(f"/api/comments/{first['id']}")
    assert post(board, "two")["id"] > first["id"]


@pytest.mark.parametrize("body, loc, kind", [
    ({"text": ""}, ["body", "text"], "string_pattern_mismatch"),
    ({"text": "   \n\t "}, ["body", "text"], "string_pattern_mismatch"),
    ({}, ["body", "text"], "missing"),
    ({"text": 42}, ["body", "text"], "string_type"),
    ({"text": None}, ["body", "text"], "string_type"),
    (["text"], ["body"], "dict_type"),
    ("just a string", ["body"], "dict_type"),
    ({"text": "x" * 501}, ["body", "text"], "string_too_long"),
])
def test_invalid_comments_answer_422_listing_the_problem(board, body, loc, kind):
    """The body is checked against its TypedDict before the handler runs (typed routes)."""
    resp = board.post("/api/comments", json=body)
    assert resp.status == 422 and resp.json()["error"] == "Invalid request"
    assert [(p["loc"], p["type"]) for p in resp.json()["detail"]] == [(loc, kind)]
    assert board.get("/api/comments").json() == []


def test_500_characters_is_allowed_and_counted_as_characters(board):
    assert len(post(board, "x" * 500)["text"]) == 500
    assert post(board, "é" * 500)["text"] == "é" * 500


def test_markup_is_stored_as_text(board):
    assert post(board, "<script>alert(1)</script>")["text"] == "<script>alert(1)</script>"


def test_malformed_json_is_the_framework_400(board):
    resp = board.post("/api/comments", body=b"{nope", headers={"Content-Type": "application/json"})
    assert (resp.status, resp.json()) == (400, {"error": "Invalid JSON"})


@pytest.mark.parametrize("kwargs", [
    {"data": {"text": "from a form"}},
    {"body": "text=hi", "headers": {"Content-Type": "text/plain"}},  # what a cross-site form can send
])
def test_only_json_is_accepted(board, kwargs):
    resp = board.post("/api/comments", **kwargs)
    assert resp.status == 415
    assert resp.json()["error"].startswith("Unsupported Media Type: send the body as application/json")
    assert board.get("/api/comments").json() == []


def test_json_with_a_charset_is_json(board):
    resp = board.post("/api/comments", body='{"text": "ok"}',
                      headers={"Content-Type": "Application/JSON; charset=utf-8"})
    assert resp.status == 201


@pytest.mark.parametrize("bad", ["abc", "-1", "1.5", "0x10", "١٢", "9" * 30])
def test_ids_that_are_not_numbers_are_404(board, bad):
    resp = board.delete(f"/api/comments/{bad}")
    assert (resp.status, resp.json()) == (404, {"error": "Comment not found"})


def test_other_methods_answer_405_with_allow(board):
    resp = board.put("/api/comments", json={"text": "x"})
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    assert board.patch("/api/comments/1", json={}).headers["Allow"] == "DELETE, GET, HEAD, OPTIONS"


def test_comments_persist_in_sqlite_across_app_instances(board, db):
    comment = post(board, "still here")
    fresh = Client(App(BOARD / "pages"))
    assert fresh.get("/api/comments").json() == [comment]
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT text FROM comments").fetchall() == [("still here",)]


def _worker(db_path: str, worker: int, n: int) -> list[int]:
    import os
    os.environ["BOARD_DB"] = db_path
    client = Client(App(BOARD / "pages"))
    ids = []
    for i in range(n):
        resp = client.post("/api/comments", json={"text": f"w{worker}-{i}"})
        assert resp.status == 201, resp.text
        ids.append(resp.json()["id"])
        assert client.get("/api/comments").status == 200
    return ids


def test_several_processes_share_the_database_safely(db):
    """What gunicorn with several workers does: separate processes, one SQLite file."""
    workers, per_worker = 4, 15
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters, like separate workers
    with ctx.Pool(workers) as pool:
        results = pool.starmap(_worker, [(str(db), w, per_worker) for w in range(workers)], chunksize=1)
    ids = [i for r in results for i in r]
    assert len(ids) == len(set(ids)) == workers * per_worker
    texts = {c["text"] for c in Client(App(BOARD / "pages")).get("/api/comments").json()}
    assert texts == {f"w{w}-{i}" for w in range(workers) for i in range(per_worker)}


def test_the_database_file_is_ignored_by_git():
    ignore = (BOARD.parent.parent / ".gitignore").read_text()
    assert "samples/board/board.db*" in ignore


def test_board_origins_may_call_the_api_cross_origin_with_cookies(db, monkeypatch):
    monkeypatch.setenv("BOARD_ORIGINS", "https://app.example.com")
    client = Client(App(ROOT / "samples" / "board" / "pages"))
    origin = {"Origin": "https://app.example.com"}
    pre = client.options("/api/comments", headers={**origin, "Access-Control-Request-Method": "POST",
                                                   "Access-Control-Request-Headers": "content-type"})
    assert pre.status == 204 and pre.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert pre.headers["Access-Control-Allow-Credentials"] == "true"
    listed = client.get("/api/comments", headers=origin)
    assert listed.status == 200 and listed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    other = client.get("/api/comments", headers={"Origin": "https://evil.example"})
    assert other.headers["Access-Control-Allow-Origin"] is None


def test_without_board_origins_no_cors_headers(board):
    assert board.get("/api/comments", headers={"Origin": "https://app.example.com"}).headers[
        "Access-Control-Allow-Origin"] is None
