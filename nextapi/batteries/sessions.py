"""Signed cookie sessions (R102): `sessions(secret, ...)` gives every request `req.session`.

`req.session` is a dict kept in the client's cookie, signed with HMAC-SHA256:

    <payload>.<issued>.<signature>

`payload` is the session as compact JSON, base64url; `issued` the Unix time it
was written, in decimal; `signature` the base64url HMAC-SHA256, under a key
derived from the secret, of `<cookie name>=<payload>.<issued>` (so a value
signed for one cookie name is worthless under another). Signed, not
encrypted: the client can read it, only not change it.

A cookie with a bad signature, bad encoding, or issued `max_age` seconds ago
or more is an empty session, never an error. The cookie is written only when
the session changed (`Session.modified`), with `Max-Age=max_age` and a new
issue time, so an active session slides forward; a session that ends up empty
deletes the cookie (`Max-Age=0`), which is what `req.session.clear()` does. A
cookie signed with an older secret of the list (key rotation) is re-signed
with the first one on the request that reads it, keeping its issue time.

The cookie is written after the handler ran, when it returned or raised an
`HTTPError`; an unexpected exception (the 500) saves nothing. Changes made
while a streamed body is being sent come too late and are not saved.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import HTTPError
from ..eventloop import is_async, isawaitable
from ..response import Response
from ._base import Battery

if TYPE_CHECKING:  # PERF: nextapi._types only names types, for type checkers (cold start)
    from .._types import Handler, Next
    from ..request import Request

__all__ = ["MAX_COOKIE_BYTES", "MIN_SECRET_BYTES", "Session", "SessionTooLarge", "Sessions", "sessions"]

MIN_SECRET_BYTES = 32  # an HMAC-SHA256 key shorter than its output is a weak one
MAX_COOKIE_BYTES = 4096  # name=value, what every browser keeps (RFC 6265 6.1's minimum)
_CLOCK_SKEW_S = 300  # a cookie "issued" up to this far in the future (another server's clock) is fine
_KEY_LABEL = b"nextapi.sessions.v1"
# payload . issued . signature (32 bytes: 43 base64url characters): anything else is not ours.
_VALUE = re.compile(r"([A-Za-z0-9_-]+)\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})\Z")
_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_now = time.time  # the sessions' clock, one name for a test to patch
_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


_S = TypeVar("_S", bound="Session")


class SessionTooLarge(ValueError):
    """The encoded session does not fit in a cookie: a 500, naming the size."""


class Session(dict[str, Any]):
    """`req.session`: a dict that notes when it changes (`modified`), so the cookie is
    written only then.

    Only the dict itself is watched: `req.session["cart"].append(item)` changes a
    list inside it without the session knowing. Assign the value again
    (`req.session["cart"] = cart`) or set `req.session.modified = True`.
    Values must be what JSON encodes: str, int, float, bool, None, lists and dicts.
    """

    __slots__ = ("modified",)

    def __init__(self, data: Mapping[str, Any] | Iterable[tuple[str, Any]] = (), /) -> None:
        super().__init__(data)
        self.modified = False

    def __repr__(self) -> str:
        return f"Session({dict.__repr__(self)}{', modified' if self.modified else ''})"

    def __setitem__(self, key: str, value: Any) -> None:
        self.modified = True
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.modified = True

    def __ior__(self: _S, other: Any) -> _S:  # type: ignore[override,misc]  # noqa: PYI019 - no Self on 3.10
        self.update(other)
        return self

    def clear(self) -> None:
        """Empty the session: the cookie is deleted (Set-Cookie with Max-Age=0)."""
        super().clear()
        self.modified = True

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            self.modified = True
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, Any]:
        item = super().popitem()
        self.modified = True
        return item

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self.modified = True
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self.modified = True


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key_bytes(secret: Any) -> bytes:
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if not isinstance(secret, (bytes, bytearray)):
        raise TypeError(f"sessions(): a secret is str or bytes, not {type(secret).__name__}")
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"sessions(): the secret is {len(secret)} bytes, at least {MIN_SECRET_BYTES} are "
                         "needed; make one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'` "
                         "and read it from the environment")
    # A key of its own for sessions: the same secret used to sign anything else never yields these.
    return hmac.new(bytes(secret), _KEY_LABEL, hashlib.sha256).digest()


class _Loaded:
    """What the request's cookie held: whether there was one, its issue time, and
    whether an old key signed it (then it is re-signed)."""

    __slots__ = ("issued", "present", "stale")

    def __init__(self, present: bool, issued: int | None = None, stale: bool = False) -> None:
        self.present, self.issued, self.stale = present, issued, stale


class Sessions(Battery):
    """`sessions(secret, ...)`: see `sessions`. `encode` and `decode` are the cookie value's
    two directions, for tests that start with a session already in place."""

    def __init__(self, secret: str | bytes | Iterable[str | bytes], *, cookie: str = "session",
                 max_age: int = 14 * 86400, path: str = "/", same_site: str | None = "Lax",
                 secure: bool = True, http_only: bool = True) -> None:
        if isinstance(secret, (str, bytes, bytearray)):
            secrets = [secret]
        elif isinstance(secret, Iterable):
            secrets = list(secret)
        else:
            raise TypeError(f"sessions(): the secret is a str, bytes or a list of them, not {type(secret).__name__}")
        if not secrets:
            raise ValueError("sessions(): the list of secrets is empty; the first one signs")
        self._keys = [_key_bytes(s) for s in secrets]
        if not isinstance(cookie, str) or not _COOKIE_NAME.match(cookie):
            raise ValueError(f"sessions(): invalid cookie name {cookie!r}")
        if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age <= 0:
            raise ValueError(f"sessions(): max_age is a number of seconds above 0, not {max_age!r}")
        if same_site is not None and str(same_site).lower() == "none" and not secure:
            raise ValueError("sessions(): same_site='None' needs secure=True (browsers refuse it otherwise)")
        if cookie.startswith(("__Host-", "__Secure-")) and not secure:
            raise ValueError(f"sessions(): a {cookie.split('-')[0]}- cookie needs secure=True")
        if cookie.startswith("__Host-") and path != "/":
            raise ValueError("sessions(): a __Host- cookie needs path='/'")
        self.cookie, self.max_age, self.path = cookie, max_age, path
        self.same_site, self.secure, self.http_only = same_site, secure, http_only
        self._cookie_line("", 0)  # a bad path or same_site is a ValueError now, not on a request

    def __repr__(self) -> str:
        return f"<sessions cookie={self.cookie!r} max_age={self.max_age}>"

    # -- the cookie value --------------------------------------------------------
    def encode(self, data: Mapping[str, Any], *, issued: float | None = None) -> str:
        """The cookie value holding `data`, signed with the first secret, issued now (or at `issued`)."""
        try:
            payload = _b64encode(_encode_json(dict(data)).encode("utf-8", "surrogatepass"))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"req.session holds a value JSON cannot encode: {exc}") from None
        stamp = str(int(_now() if issued is None else issued))
        return f"{payload}.{stamp}.{_b64encode(self._sign(self._keys[0], payload, stamp))}"

    def decode(self, value: str) -> dict[str, Any] | None:
        """The session in a cookie value, or None when it is forged, malformed or expired."""
        found = self._decode(value)
        return None if found is None else found[0]

    def _sign(self, key: bytes, payload: str, stamp: str) -> bytes:
        return hmac.new(key, f"{self.cookie}={payload}.{stamp}".encode("ascii"), hashlib.sha256).digest()

    def _decode(self, value: str) -> tuple[dict[str, Any], int, bool] | None:
        """(data, issued, signed by an old key) or None. Nothing is decoded before the
        signature checks out, so a forged cookie never reaches the JSON parser."""
        m = _VALUE.match(value) if len(value) <= 2 * MAX_COOKIE_BYTES else None
        if m is None:
            return None
        payload, stamp, signature = m.groups()
        try:
            given = _b64decode(signature)
        except ValueError:
            return None
        for index, key in enumerate(self._keys):
            if hmac.compare_digest(self._sign(key, payload, stamp), given):
                break
        else:
            return None
        issued = int(stamp)
        age = _now() - issued
        if age >= self.max_age or age < -_CLOCK_SKEW_S:
            return None
        try:
            data = json.loads(_b64decode(payload).decode("utf-8", "surrogatepass"))
        except ValueError:  # signed by us, so only a format of the future; never an error
            return None
        if not isinstance(data, dict):
            return None
        return data, issued, index > 0

    # -- per request ---------------------------------------------------------------
    def load(self, req: Request) -> tuple[Session, _Loaded]:
        """The request's session (empty unless its cookie checks out), set as `req.session`."""
        raw = req.cookies.get(self.cookie)
        found = self._decode(raw) if raw else None
        if found is None:
            session, loaded = Session(), _Loaded(bool(raw))
        else:
            data, issued, stale = found
            session, loaded = Session(data), _Loaded(True, issued, stale)
        req.session = session
        return session, loaded

    def save(self, session: Session, loaded: _Loaded, res: Response) -> None:
        """Write the cookie if the session changed (or an old key signed it); delete it if emptied."""
        if session.modified:
            if session:
                self._set(res, self.encode(session), self.max_age)
            elif loaded.present:
                self._set(res, "", 0)
        elif loaded.stale and session and loaded.issued is not None:  # rotated: re-signed, same issue time
            remaining = loaded.issued + self.max_age - int(_now())
            if remaining > 0:
                self._set(res, self.encode(session, issued=loaded.issued), remaining)

    def _cookie_line(self, value: str, max_age: int) -> str:
        scratch = Response()  # res.set_cookie's checks and format, without its "already sent" rule
        scratch.set_cookie(self.cookie, value, max_age=max_age, expires=0 if max_age == 0 else None,
                           path=self.path, secure=self.secure, http_only=self.http_only,
                           same_site=self.same_site)
        line = scratch.get_header("Set-Cookie")
        assert isinstance(line, list)
        return line[0]

    def _set(self, res: Response, value: str, max_age: int) -> None:
        line = self._cookie_line(value, max_age)
        size = len(line.partition(";")[0].encode("latin-1"))  # name=value
        if size > MAX_COOKIE_BYTES:
            raise SessionTooLarge(
                f"The session cookie {self.cookie!r} would be {size} bytes encoded, over the "
                f"{MAX_COOKIE_BYTES} bytes browsers keep: store less in req.session (an id, say, "
                "with the data on the server)")
        # The handler has usually sent by now, and res refuses header changes after a send. But
        # nothing reaches the server before the app finalizes the response, after the middleware
        # chain returned, so the header still goes out with this answer.
        current = res._headers.get("set-cookie")
        values = [] if current is None else [current[1]] if isinstance(current[1], str) else list(current[1])
        res._headers["set-cookie"] = ("Set-Cookie", [*values, line])

    # -- as middleware and as a decorator ---------------------------------------------
    def handle(self, req: Request, res: Response, next: Next) -> Any:
        session, loaded = self.load(req)
        try:
            result = next()
        except HTTPError:  # an answer the handler chose: what it put in the session stays
            self.save(session, loaded, res)
            raise
        self.save(session, loaded, res)
        return result

    def wrap(self, handler: Handler) -> Handler:
        if not is_async(handler):
            return super().wrap(handler)

        @functools.wraps(handler)
        async def wrapped_async(req: Request, res: Response, **inputs: Any) -> Any:
            # On the loop itself: nothing here waits, so no worker thread is needed.
            session, loaded = self.load(req)
            try:
                result = handler(req, res, **inputs)
                while isawaitable(result):
                    result = await result
            except HTTPError:
                self.save(session, loaded, res)
                raise
            self.save(session, loaded, res)
            return result
        return wrapped_async


def sessions(secret: str | bytes | Iterable[str | bytes], *, cookie: str = "session",
             max_age: int = 14 * 86400, path: str = "/", same_site: str | None = "Lax",
             secure: bool = True, http_only: bool = True) -> Sessions:
    """`req.session`, a dict kept in a signed cookie, for every request it covers.

    Use it in `App(middleware=[...])`, as `middleware = sessions(...)` in a
    `_middleware.py`, or as a decorator on one handler. `secret` (at least 32
    bytes, from the environment) signs; a list rotates keys: the first signs,
    any verifies. `max_age` (seconds) bounds both the cookie's Max-Age and the
    issue time signed inside it. The other arguments are the cookie's
    attributes. A session over 4096 bytes encoded is a 500 (`SessionTooLarge`).
    """
    return Sessions(secret, cookie=cookie, max_age=max_age, path=path, same_site=same_site,
                    secure=secure, http_only=http_only)
