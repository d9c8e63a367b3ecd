"""What every battery shares: one object that is a middleware and a decorator."""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from ..eventloop import is_async
from ..middleware import arun_chain, run_chain

if TYPE_CHECKING:  # PERF: nextapi._types only names types, for type checkers (cold start)
    from .._types import Handler, Next
    from ..request import Request
    from ..response import Response


class Battery:
    """`battery(req, res, next)` as a middleware (R15, R100), `@battery` on a handler.

    Subclasses implement `handle(req, res, next)`. As a decorator on an `async
    def` handler the wrapper is `async def` too, so it mixes into any chain.
    """

    def handle(self, req: Request, res: Response, next: Next) -> Any:
        raise NotImplementedError

    def __call__(self, *args: Any) -> Any:
        if len(args) == 1 and callable(args[0]):
            return self.wrap(args[0])
        req, res, next_ = args
        return self.handle(req, res, next_)

    def wrap(self, handler: Handler) -> Handler:
        chain = (self,)
        if is_async(handler):
            @functools.wraps(handler)
            async def wrapped_async(req: Request, res: Response, **inputs: Any) -> Any:
                return await arun_chain(chain, _bound(handler, inputs), req, res)
            return wrapped_async

        @functools.wraps(handler)
        def wrapped(req: Request, res: Response, **inputs: Any) -> Any:
            return run_chain(chain, _bound(handler, inputs), req, res)
        return wrapped


def _bound(handler: Handler, inputs: dict[str, Any]) -> Handler:
    """The decorated handler as the chain's last step.

    It takes a typed route's declared inputs (R90), which nextapi bound for the wrapper (it
    shows the handler's signature, functools.wraps). And like the app before a handler, it
    notes the headers set so far: a 500 from the handler keeps what the battery set (R41).
    """
    def step(req: Request, res: Response) -> Any:
        res._before_handler = dict(res._headers)
        return handler(req, res, **inputs)
    return step
