"""Falcon: resources and resp.media, with a compact JSON handler for identical bytes."""
from __future__ import annotations

import functools
import json

import falcon
import falcon.media

from benchdata import COMMENTS, NOT_FOUND

_JSON = falcon.media.JSONHandler(
    dumps=functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":")),
    loads=json.loads,
)


class Comments:
    def on_get(self, req, resp):
        resp.media = COMMENTS


class PostComments:
    def on_get(self, req, resp, post):
        resp.media = {"post": post, "comments": COMMENTS}


class Echo:
    def on_post(self, req, resp):
        resp.media = req.get_media()


class Item:
    def __init__(self, n: int) -> None:
        self.n = n

    def on_get(self, req, resp, id):
        resp.media = {"route": self.n, "id": id}


def _not_found(req, resp, ex, params):
    resp.status = falcon.HTTP_404
    resp.media = NOT_FOUND


def make_app(extra_routes: int = 0) -> falcon.App:
    app = falcon.App()
    app.req_options.media_handlers[falcon.MEDIA_JSON] = _JSON
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = _JSON
    app.add_error_handler(falcon.HTTPNotFound, _not_found)
    app.add_route("/api/comments", Comments())
    app.add_route("/api/comments/{post}", PostComments())
    app.add_route("/api/echo", Echo())
    for i in range(extra_routes):
        app.add_route(f"/api/r{i}/items/{{id}}", Item(i))
    return app


app = make_app()
