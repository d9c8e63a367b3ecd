"""Cross-origin resource sharing (R101): `cors(origins, ...)`, the headers a browser checks.

For a request whose `Origin` is allowed, the CORS headers are set before
`next()` runs the rest, so every answer carries them, a 404, 405, 413 or 500
included (the browser then shows the error, not a CORS failure). A preflight
(`OPTIONS` with `Origin` and `Access-Control-Request-Method`) from an allowed
origin is answered here, 204, and the handler never runs. A request from any
other origin gets no CORS header at all, and its preflight goes on to the
route as a plain OPTIONS request would (the route's 204 with Allow, or its own
`options`), which a browser reads as a refusal.

`Vary: Origin` goes on every answer this middleware covers, allowed or not,
with or without an Origin: the answer depends on it, and caches must know.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ._base import Battery

if TYPE_CHECKING:  # PERF: nextapi._types only names types, for type checkers (cold start)
    from .._types import Next
    from ..request import Request
    from ..response import Response

__all__ = ["Cors", "cors"]

# An origin as browsers serialize it (scheme://host[:port], no path), or "null"; anything
# else (a CR/LF, a comma from two headers joined, a path, a huge value) is never allowed.
_ORIGIN = re.compile(r"(?:null|[a-z][a-z0-9+.-]*://[a-z0-9_.:\[\]-]+)\Z", re.IGNORECASE)
_MAX_ORIGIN = 1024
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")  # RFC 9110 (7230) token
# Bounds on Access-Control-Request-Headers before it is echoed: browsers send a few short names.
_MAX_REQUEST_HEADERS = 4096
_MAX_REQUEST_NAMES = 64
# What a preflight on a path no route takes is told it may send (it then gets the 404).
DEFAULT_METHODS = "DELETE, GET, HEAD, PATCH, POST, PUT"


def _tokens(what: str, values: str | Iterable[str]) -> list[str]:
    items = values.split(",") if isinstance(values, str) else list(values)
    out = []
    for item in items:
        name = item.strip() if isinstance(item, str) else item
        if not isinstance(name, str) or not _TOKEN.match(name):
            raise ValueError(f"cors({what}=...): {item!r} is not a header or method name")
        out.append(name)
    return out


def _requested_headers(value: str) -> str | None:
    """Access-Control-Request-Headers as the echo it gets, or None when it is not a short list
    of header names (a hostile one is never copied into the answer)."""
    if len(value) > _MAX_REQUEST_HEADERS:
        return None
    names = [name.strip().lower() for name in value.split(",")]
    if len(names) > _MAX_REQUEST_NAMES:
        return None
    names = [name for name in names if name]  # `a, , b` and a trailing comma are fine
    if not all(_TOKEN.match(name) for name in names):
        return None
    return ", ".join(dict.fromkeys(names))


def _add_vary(res: Response, field: str) -> None:
    current = res.get_header("Vary")
    if current is None:
        res.set_header("Vary", field)
        return
    values = current if isinstance(current, list) else [current]
    names = {name.strip().lower() for value in values for name in value.split(",")}
    if field.lower() not in names and "*" not in names:
        res.set_header("Vary", ", ".join([*values, field]))


class Cors(Battery):
    """`cors(origins, ...)`: see `cors`."""

    def __init__(self, origins: str | Iterable[str] | Callable[[str], bool], *,
                 methods: str | Iterable[str] | None = None, headers: str | Iterable[str] | None = None,
                 credentials: bool = False, max_age: int | None = 600,
                 expose_headers: str | Iterable[str] = ()) -> None:
        self.any = origins == "*"
        self.allowed: frozenset[str] = frozenset()
        self.check: Callable[[str], Any] | None = None
        if self.any:
            if credentials:
                raise ValueError("cors('*', credentials=True): browsers refuse credentials with a wildcard "
                                 "origin; list the origins that may send them")
        elif callable(origins):
            self.check = origins
        else:
            listed = [origins] if isinstance(origins, str) else list(origins)
            for origin in listed:
                if origin == "*":
                    raise ValueError("cors([..., '*']): '*' stands alone, as cors('*')")
                if not isinstance(origin, str) or not _ORIGIN.match(origin):
                    raise ValueError(f"cors(): {origin!r} is not an origin: scheme://host[:port], "
                                     "with no path or trailing slash, e.g. 'https://app.example.com'")
            self.allowed = frozenset(origin.lower() for origin in listed)
        if isinstance(max_age, bool) or not (max_age is None or isinstance(max_age, int) and max_age >= 0):
            raise ValueError(f"cors(max_age={max_age!r}): seconds, 0 or more, or None")
        self.credentials = bool(credentials)
        self.methods = None if methods is None else ", ".join(m.upper() for m in _tokens("methods", methods))
        self.headers = None if headers is None else ", ".join(_tokens("headers", headers))
        self.max_age = None if max_age is None else str(max_age)
        self.expose = ", ".join(_tokens("expose_headers", expose_headers)) or None

    def __repr__(self) -> str:
        origins = "'*'" if self.any else repr(self.check) if self.check else repr(sorted(self.allowed))
        return f"cors({origins}, credentials={self.credentials})"

    def allows(self, origin: str) -> bool:
        """Is a request from `origin` (the Origin header as sent) allowed?"""
        if len(origin) > _MAX_ORIGIN or not _ORIGIN.match(origin):
            return False
        if self.any:
            return True
        if self.check is not None:
            return bool(self.check(origin))
        return origin in self.allowed

    def handle(self, req: Request, res: Response, next: Next) -> Any:
        environ = req.environ
        origin = environ.get("HTTP_ORIGIN")
        _add_vary(res, "Origin")
        if origin is None or not self.allows(origin):
            return next()  # no CORS header; a preflight goes on as a plain OPTIONS
        res.set_header("Access-Control-Allow-Origin", "*" if self.any and not self.credentials else origin)
        if self.credentials:
            res.set_header("Access-Control-Allow-Credentials", "true")
        if req.method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ:
            return self._preflight(req, res)
        if self.expose is not None:
            res.set_header("Access-Control-Expose-Headers", self.expose)
        return next()

    def _preflight(self, req: Request, res: Response) -> None:
        """The answer to a preflight: what may be sent, for how long; the handler is not run."""
        res.set_header("Access-Control-Allow-Methods", self.methods or req.allow or DEFAULT_METHODS)
        allow_headers = self.headers
        if allow_headers is None:
            requested = req.environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
            if requested is not None:
                allow_headers = _requested_headers(requested)
                _add_vary(res, "Access-Control-Request-Headers")
        if allow_headers:
            res.set_header("Access-Control-Allow-Headers", allow_headers)
        if self.max_age is not None:
            res.set_header("Access-Control-Max-Age", self.max_age)
        res.status(204).end()


def cors(origins: str | Iterable[str] | Callable[[str], bool], *, methods: str | Iterable[str] | None = None,
         headers: str | Iterable[str] | None = None, credentials: bool = False, max_age: int | None = 600,
         expose_headers: str | Iterable[str] = ()) -> Cors:
    """A middleware (and decorator) answering browsers' cross-origin checks.

    `origins` is `"*"` (any origin), a list of exact origins (`"https://app.example.com"`),
    or a function `origin -> bool`. An allowed request's answer, errors included, carries
    `Access-Control-Allow-Origin` (the origin itself, or `*` for `"*"` without credentials),
    `Vary: Origin`, `Access-Control-Allow-Credentials: true` with `credentials=True`, and
    `Access-Control-Expose-Headers` when `expose_headers` names some. Its preflight is
    answered 204 with `Access-Control-Allow-Methods` (`methods`, else the route's),
    `Access-Control-Allow-Headers` (`headers`, else those the browser asked for, when they
    are a short list of header names) and `Access-Control-Max-Age` (`max_age` seconds; None
    leaves it out). `"*"` with `credentials=True` is a ValueError: browsers refuse it.
    """
    return Cors(origins, methods=methods, headers=headers, credentials=credentials, max_age=max_age,
                expose_headers=expose_headers)
