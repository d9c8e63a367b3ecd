"""Folder middleware (R15): `_middleware.py` files wrap every route below them.

A middleware is `middleware(req, res, next)`; calling `next()` runs the rest of
the chain and returns what the handler returned. Not calling it (after sending
a response, say) stops the chain there. Plain decorators `fn(handler) ->
handler` need nothing from us: they wrap the handler before we ever see it.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

from .eventloop import is_async, isawaitable, run
from .routing import within

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (PERF: cold start); mypy reads the name
if TYPE_CHECKING:
    from typing import Any

    from ._types import Handler, Middleware
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
    """Call each middleware with a `next` that runs the rest, then `final` (R15, R80).

    Sync and `async def` middleware mix: a sync one's `next()` runs the rest
    and returns the handler's result, async parts included; an async one gets
    a `next()` to await. From a sync caller, an async middleware runs on the
    thread's event loop; inside it, a sync middleware runs in a worker thread
    whose `next()` hands the rest back to the loop.
    """
    return _step(chain, 0, final, req, res)


async def arun_chain(chain: Sequence[Middleware], final: Handler, req: Request, res: Response) -> Any:
    """`run_chain` from inside a running event loop (an `async def` wrapper awaits it)."""
    return await _astep(chain, 0, final, req, res)


def _step(chain: Sequence[Middleware], i: int, final: Handler, req: Request, res: Response) -> Any:
    if i == len(chain):
        result = final(req, res)
    elif is_async(chain[i]):
        return run(_astep(chain, i, final, req, res))
    else:
        result = chain[i](req, res, lambda: _step(chain, i + 1, final, req, res))
    return run(result) if isawaitable(result) else result  # R82: a sync function's awaitable too


async def _astep(chain: Sequence[Middleware], i: int, final: Handler, req: Request, res: Response) -> Any:
    if i == len(chain):
        result = final(req, res)
    elif is_async(chain[i]):
        result = chain[i](req, res, lambda: _astep(chain, i + 1, final, req, res))
    else:
        import asyncio  # PERF: imported on first use, so `import nextapi` stays without it (cold start)

        loop = asyncio.get_running_loop()

        def rest() -> Any:  # on the worker thread: the rest of the chain, back on this loop
            return asyncio.run_coroutine_threadsafe(_astep(chain, i + 1, final, req, res), loop).result()

        result = await asyncio.to_thread(chain[i], req, res, rest)
    while isawaitable(result):
        result = await result
    return result
