"""The contracts along the data path, named once (Starlette's `types.py` idea).

The WSGI ones match `wsgiref.types` (3.11+) but are defined here, so 3.10
and a vendored copy have them too.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from types import TracebackType

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (PERF: cold start); mypy reads the name
if TYPE_CHECKING:
    from typing import Any, Protocol

    from .request import Request
    from .response import Response

    Environ = dict[str, Any]
    HeaderList = list[tuple[str, str]]
    ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]


    class StartResponse(Protocol):
        def __call__(self, status: str, headers: HeaderList, exc_info: ExcInfo | None = ..., /) -> Callable[[bytes], object]:
            ...


    WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]
    # What the app hands its server: status line, headers, body iterable (before start_response).
    Result = tuple[str, HeaderList, Iterable[bytes]]
    Handler = Callable[["Request", "Response"], Any]  # handler(req, res) or a method function
    Next = Callable[[], Any]  # runs the rest of the middleware chain, returns what the handler returned
    Middleware = Callable[["Request", "Response", Next], Any]  # middleware(req, res, next)
