"""Flask: view functions returning a Response of compact JSON.

`jsonify` would add a trailing newline (Flask >= 2.3) and sort keys, so the
views build the Response themselves to send the same bytes as the others.
"""
from __future__ import annotations

from flask import Flask, Response, request

from benchdata import COMMENTS, JSON_TYPE, NOT_FOUND, dumps


def _json(value, status: int = 200) -> Response:
    return Response(dumps(value), status=status, mimetype=JSON_TYPE)


def _comments():
    return _json(COMMENTS)


def _post_comments(post):
    return _json({"post": post, "comments": COMMENTS})


def _echo():
    return _json(request.get_json())


def _not_found(error):
    return _json(NOT_FOUND, 404)


def _item(n: int):
    def item(id):
        return _json({"route": n, "id": id})
    return item


def make_app(extra_routes: int = 0) -> Flask:
    app = Flask(__name__)
    app.add_url_rule("/api/comments", "comments", _comments, methods=["GET"])
    app.add_url_rule("/api/comments/<post>", "post_comments", _post_comments, methods=["GET"])
    app.add_url_rule("/api/echo", "echo", _echo, methods=["POST"])
    app.register_error_handler(404, _not_found)
    for i in range(extra_routes):
        app.add_url_rule(f"/api/r{i}/items/<id>", f"r{i}", _item(i), methods=["GET"])
    return app


app = make_app()
