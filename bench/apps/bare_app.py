"""A hand-written stdlib WSGI function: the practical limit for the same answers.

No router, no request or response objects: if-statements on PATH_INFO.
"""
from __future__ import annotations

import json

from benchdata import COMMENTS, JSON_TYPE, NOT_FOUND, dumps

_NOT_FOUND = dumps(NOT_FOUND).encode("utf-8")


def app(environ, start_response):
    method = environ["REQUEST_METHOD"]
    path = environ["PATH_INFO"]
    status = "200 OK"
    if method == "GET" and path == "/api/comments":
        body = dumps(COMMENTS).encode("utf-8")
    elif method == "GET" and path.startswith("/api/comments/") and "/" not in path[14:] and path[14:]:
        body = dumps({"post": path[14:], "comments": COMMENTS}).encode("utf-8")
    elif method == "POST" and path == "/api/echo":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = dumps(json.loads(environ["wsgi.input"].read(length))).encode("utf-8")
    else:
        status, body = "404 Not Found", _NOT_FOUND
    start_response(status, [("Content-Type", JSON_TYPE), ("Content-Length", str(len(body)))])
    return [body]


def make_app(extra_routes: int = 0):
    if extra_routes:
        raise ValueError("the bare function has no route table")
    return app
