"""Folder middleware (R15): `_middleware.py` files wrap every route below them.

A middleware is `middleware(req, res, next)`; calling `next()` runs the rest of
the chain and returns what the handler returned. Not calling it (after sending
a response, say) stops the chain there. Plain decorators `fn(handler) ->
handler` need nothing from us: they wrap the handler before we ever see it.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._types import Handler, Middleware
from .routing import within

if TYPE_CHECKING:
    from .request import Request
    from .response import Response

MIDDLEWARE_FILE = "_middleware.py"


def middleware_files(pages_dir: str, route_rel: str) -> tuple[str, ...]:
    """The `_middleware.py` files that apply to a route, outermost folder first."""
    folders = route_rel.split("/")[:-1]  # e.g. ["api", "comments"]
    found = []
    top = os.path.realpath(os.path.join(pages_dir, folders[0])) if folders else ""
    for depth in range(1, len(folders) + 1):
        path = os.path.join(pages_dir, *folders[:depth], MIDDLEWARE_FILE)
        # A symlink that leaves the folder is never imported, as for routes.
        if os.path.isfile(path) and within(top, os.path.realpath(path)):
            found.append(path)
    return tuple(found)


def run_chain(chain: Sequence[Middleware], final: Handler, req: Request, res: Response) -> Any:
    """Call each middleware with a `next` that runs the rest, then `final`."""
    if not chain:
        return final(req, res)  # PERF: no closures for the common case

    def step(i: int) -> Any:
        if i == len(chain):
            return final(req, res)
        return chain[i](req, res, lambda: step(i + 1))

    return step(0)
