"""The seed sample (samples/comments) answers exactly as the Next.js API routes
article it comes from, and as the README and docs/reference.md describe it:

- comments.json holds the article's data, `[{"comment": "First"}, {"comment": "Nice post"}]`;
- `GET /api/comments` answers that list;
- `GET /api/comments/<id>` answers `{"post": "<id>", "comments": <the list>}`: the id
  is the post's id (a string, as in the URL), and the file holds one post's comments.
"""
from __future__ import annotations

import json

import pytest

from nextapi import App
from nextapi.testing import Client
from tests.helpers import SEED

COMMENTS = [{"comment": "First"}, {"comment": "Nice post"}]
JSON_TYPE = "application/json; charset=utf-8"


@pytest.fixture
def client() -> Client:
    return Client(App(SEED))


def test_the_data_file_is_the_articles_own():
    assert json.loads((SEED / "api" / "comments.json").read_text(encoding="utf-8")) == COMMENTS


def test_comments_list(client):
    resp = client.get("/api/comments")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == JSON_TYPE
    assert resp.content == b'[{"comment":"First"},{"comment":"Nice post"}]'
    assert resp.json() == COMMENTS


@pytest.mark.parametrize("post", ["42", "1", "0", "first-post"])
def test_comments_of_one_post(client, post):
    resp = client.get(f"/api/comments/{post}")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == JSON_TYPE
    assert resp.json() == {"post": post, "comments": COMMENTS}


def test_comments_of_post_42_exact_bytes(client):
    body = b'{"post":"42","comments":[{"comment":"First"},{"comment":"Nice post"}]}'
    assert client.get("/api/comments/42").content == body


def test_head_answers_the_get_headers_without_a_body(client):
    get, head = client.get("/api/comments/42"), client.head("/api/comments/42")
    assert head.status == 200 and head.content == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Content-Length"] == get.headers["Content-Length"]


def test_handler_switching_on_method_answers_405_otherwise(client):
    resp = client.post("/api/comments", json={"comment": "hi"})
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET"
    assert resp.json() == {"error": "Method POST Not Allowed"}


def test_method_function_route_answers_405_with_allow(client):
    resp = client.delete("/api/comments/42")
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert resp.json() == {"error": "Method Not Allowed"}
    options = client.options("/api/comments/42")
    assert (options.status, options.headers["Allow"], options.content) == (204, "GET, HEAD, OPTIONS", b"")


def test_hello(client):
    assert client.get("/api/hello").json() == {"hello": "world"}
    assert client.get("/api/hello?name=ada").json() == {"hello": "ada"}


@pytest.mark.parametrize("path", ["/api/comments.json", "/api/comments.py", "/api/comments/[id].py"])
def test_data_and_source_files_are_never_served(client, path):
    resp = client.get(path)
    assert resp.status == 404
    assert resp.json() == {"error": "Not Found"}


def test_trailing_slash_redirects(client):
    resp = client.get("/api/comments/")
    assert resp.status == 308
    assert resp.headers["Location"] == "/api/comments"
