"""Bottle: decorated functions; dicts go through a compact JSONPlugin."""
from __future__ import annotations

import bottle

from benchdata import COMMENTS, JSON_TYPE, NOT_FOUND, dumps


def _comments():
    bottle.response.content_type = JSON_TYPE  # Bottle's plugin only encodes dicts
    return dumps(COMMENTS)


def _post_comments(post):
    return {"post": post, "comments": COMMENTS}


def _echo():
    return bottle.request.json


def _not_found(error):
    bottle.response.content_type = JSON_TYPE
    return dumps(NOT_FOUND)


def _item(n: int):
    def item(id):
        return {"route": n, "id": id}
    return item


def make_app(extra_routes: int = 0) -> bottle.Bottle:
    app = bottle.Bottle()
    app.uninstall(bottle.JSONPlugin)
    app.install(bottle.JSONPlugin(json_dumps=dumps))
    app.route("/api/comments", "GET", _comments)
    app.route("/api/comments/<post>", "GET", _post_comments)
    app.route("/api/echo", "POST", _echo)
    app.error_handler[404] = _not_found
    for i in range(extra_routes):
        app.route(f"/api/r{i}/items/<id>", "GET", _item(i))
    return app


app = make_app()
