"""Authentication (R103): `bearer(verify)`, `basic(verify, realm=...)`, `api_key(verify, header=...)`.

Each reads its credentials from the request, calls `verify` with them, and
sets what it returned as `req.user`. Missing, malformed or refused
credentials (verify returned None or False) are a 401 `{"error":
"Unauthorized"}` with the scheme's `WWW-Authenticate` challenge, raised as an
`HTTPError` before the handler runs.

Parsing is bounded and strict: a credential header over 8 KB, a second
scheme, stray spaces or commas, bad base64 or UTF-8, control characters, a
Basic pair without a colon are all simply a 401; `verify` only ever sees a
well-formed token, key or pair. nextapi compares no secret itself: `verify`
does, and should use `hmac.compare_digest` (see docs/auth.md).

`verify` may be `async def` (or return an awaitable): it is awaited on the
request's event loop when the battery decorates an `async def` handler, and
on the calling thread's loop otherwise.

Each battery has `security_scheme`, its OpenAPI `securitySchemes` entry, so a
spec builder can declare what a route needs.
"""
from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..errors import HTTPError
from ..eventloop import is_async, isawaitable, run
from ._base import Battery

if TYPE_CHECKING:  # PERF: nextapi._types only names types, for type checkers (cold start)
    from .._types import Handler, Next
    from ..request import Request
    from ..response import Response

__all__ = ["MAX_CREDENTIALS", "ApiKeyAuth", "Auth", "BasicAuth", "BearerAuth", "api_key", "basic", "bearer"]

MAX_CREDENTIALS = 8192  # characters of an Authorization or API key header read at most
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")  # RFC 9110 11.2 (RFC 6750's b64token)
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # a header name
_KEY = re.compile(r"[!-~]+")  # an API key: visible ASCII, no spaces
_CTL = re.compile(r"[\x00-\x1f\x7f]")
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")  # padded, as RFC 7617 sends


def _loop_running() -> bool:
    import asyncio  # PERF: imported on first use, so `import nextapi` stays without it (cold start)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _authorization(req: Request, scheme: str) -> str | None:
    """The token68 after `scheme` in Authorization (scheme matched case-insensitively), or None."""
    value = req.headers.get("authorization")
    if not value or len(value) > MAX_CREDENTIALS:
        return None
    name, space, token = value.strip(" \t").partition(" ")
    if not space or name.lower() != scheme:
        return None
    token = token.lstrip(" ")
    return token if _TOKEN68.fullmatch(token) else None


class Auth(Battery):
    """What the three share: credentials -> `verify` -> `req.user`, or the 401."""

    challenge: str  # the WWW-Authenticate value

    def __init__(self, verify: Callable[..., Any]) -> None:
        if not callable(verify):
            raise TypeError(f"{type(self).__name__}: verify must be a function, not {type(verify).__name__}")
        self.verify = verify

    @property
    def security_scheme(self) -> dict[str, str]:
        """This battery's OpenAPI `securitySchemes` entry (a fresh dict)."""
        raise NotImplementedError

    def credentials(self, req: Request) -> tuple[str, ...] | None:
        """The arguments for `verify`, or None when they are missing or malformed."""
        raise NotImplementedError

    def refuse(self) -> HTTPError:
        return HTTPError(401, "Unauthorized", headers={"WWW-Authenticate": self.challenge})

    def _check(self, req: Request) -> Any:
        """The user, or an awaitable of it, from `verify`; a 401 when there are no usable credentials."""
        found = self.credentials(req)
        if found is None:
            raise self.refuse()
        return self.verify(*found)

    def _accept(self, req: Request, user: Any) -> None:
        if user is None or user is False:
            raise self.refuse()
        req.user = user

    async def _then(self, pending: Awaitable[Any], req: Request, call: Callable[[], Any]) -> Any:
        self._accept(req, await pending)
        result = call()
        while isawaitable(result):
            result = await result
        return result

    def handle(self, req: Request, res: Response, next: Next) -> Any:
        user = self._check(req)
        if isawaitable(user):
            if _loop_running():  # called on a loop's thread: hand the rest back to be awaited
                return self._then(user, req, next)
            user = run(user)
        self._accept(req, user)
        return next()

    def wrap(self, handler: Handler) -> Handler:
        if is_async(handler):
            @functools.wraps(handler)
            async def wrapped_async(req: Request, res: Response, **inputs: Any) -> Any:
                user = self._check(req)  # a sync verify runs here too: nothing to hand to a thread
                if isawaitable(user):
                    user = await user
                self._accept(req, user)
                result = handler(req, res, **inputs)
                while isawaitable(result):
                    result = await result
                return result
            return wrapped_async

        @functools.wraps(handler)
        def wrapped(req: Request, res: Response, **inputs: Any) -> Any:
            user = self._check(req)
            if isawaitable(user):  # async verify, sync handler: the app awaits what this returns
                return self._then(user, req, lambda: handler(req, res, **inputs))
            self._accept(req, user)
            return handler(req, res, **inputs)
        return wrapped


class BearerAuth(Auth):
    """`bearer(verify)`: see `bearer`."""

    challenge = "Bearer"

    @property
    def security_scheme(self) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer"}

    def credentials(self, req: Request) -> tuple[str, ...] | None:
        token = _authorization(req, "bearer")
        return None if token is None else (token,)


class BasicAuth(Auth):
    """`basic(verify, realm=...)`: see `basic`."""

    def __init__(self, verify: Callable[..., Any], realm: str = "api") -> None:
        super().__init__(verify)
        if not isinstance(realm, str) or not realm.isascii() or _CTL.search(realm) or '"' in realm or "\\" in realm:
            raise ValueError(f"basic(): realm must be printable ASCII without quotes or backslashes, not {realm!r}")
        self.realm = realm
        self.challenge = f'Basic realm="{realm}"'

    @property
    def security_scheme(self) -> dict[str, str]:
        return {"type": "http", "scheme": "basic"}

    def credentials(self, req: Request) -> tuple[str, ...] | None:
        token = _authorization(req, "basic")
        if token is None or not _BASE64.fullmatch(token):
            return None
        try:
            text = base64.b64decode(token, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        username, colon, password = text.partition(":")
        if not colon or _CTL.search(text):
            return None
        return username, password


class ApiKeyAuth(Auth):
    """`api_key(verify, header=...)`: see `api_key`."""

    def __init__(self, verify: Callable[..., Any], header: str = "X-API-Key") -> None:
        super().__init__(verify)
        if not isinstance(header, str) or not _TOKEN.fullmatch(header):
            raise ValueError(f"api_key(): invalid header name {header!r}")
        self.header = header
        self.challenge = f'APIKey header="{header}"'

    @property
    def security_scheme(self) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": self.header}

    def credentials(self, req: Request) -> tuple[str, ...] | None:
        value = req.headers.get(self.header)
        if not value or len(value) > MAX_CREDENTIALS:
            return None
        key = value.strip(" \t")
        return (key,) if _KEY.fullmatch(key) else None


def bearer(verify: Callable[[str], Any]) -> BearerAuth:
    """`Authorization: Bearer <token>`: `verify(token)` returns the user (`req.user`), or None
    to refuse. Otherwise a 401 with `WWW-Authenticate: Bearer`."""
    return BearerAuth(verify)


def basic(verify: Callable[[str, str], Any], realm: str = "api") -> BasicAuth:
    """`Authorization: Basic <base64 of user:password>` (UTF-8): `verify(username, password)`
    returns the user (`req.user`), or None to refuse. Otherwise a 401 with
    `WWW-Authenticate: Basic realm="<realm>"`, which makes a browser ask for them."""
    return BasicAuth(verify, realm)


def api_key(verify: Callable[[str], Any], header: str = "X-API-Key") -> ApiKeyAuth:
    """A key in a request header (`X-API-Key` unless given): `verify(key)` returns the user
    (`req.user`), or None to refuse. Otherwise a 401 with `WWW-Authenticate: APIKey header="<header>"`."""
    return ApiKeyAuth(verify, header)
