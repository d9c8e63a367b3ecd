"""The seed sample from the README answers as documented."""
from __future__ import annotations

import json

from conftest import SEED

COMMENTS = json.loads((SEED / "api" / "comments.json").read_text())


def test_comments_list(seed):
    resp = seed.get("/api/comments")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert resp.json() == COMMENTS


def test_comments_of_one_post(seed):
    assert seed.get("/api/comments/42").json() == {"post": "42", "comments": COMMENTS}


def test_handler_switching_on_method_answers_405_otherwise(seed):
    resp = seed.post("/api/comments", json={"text": "hi"})
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET"
    assert "error" in resp.json()


def test_data_files_are_never_served(seed):
    assert seed.get("/api/comments.json").status == 404
