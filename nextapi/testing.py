"""A test client that calls the app in-process, through `wsgiref.validate`.

Every request is checked for PEP 3333 compliance, and by default an exception
that the app turned into a 500 is raised again in the test, so a failing
handler fails the test with its own traceback (Starlette's TestClient idea).
Cookies set by one response come back on the next request, as in a browser,
so a login-then-use flow is tested the way it runs.
"""
from __future__ import annotations

import io
import itertools
import json as jsonlib
import re
import time
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple
from urllib.parse import quote, unquote_to_bytes, urlencode
from wsgiref.headers import Headers
from wsgiref.validate import validator

from ._http import EXCEPTION_KEY

__all__ = ["Client", "CookieJar", "TestResponse", "build_environ"]

_URI_SAFE = "/%:@!$&'()*+,;=-._~"  # what a client leaves unescaped in a request path
_WS = " \t"
_MAX_AGE = re.compile(r"-?[0-9]+", re.ASCII)
_now = time.time  # the jar's clock, one name for a test to patch


class TestResponse:
    """What came back: `status` (also `status_code`), `headers`, `content`, `text`, `json()`."""

    __test__ = False  # not a pytest test class

    def __init__(self, status_line: str, headers: list[tuple[str, str]], chunks: list[bytes]) -> None:
        self.status_line = status_line
        self.status = int(status_line.split(" ", 1)[0])
        self.headers = Headers(headers)
        self.chunks = chunks
        self.content = b"".join(chunks)

    @property
    def status_code(self) -> int:
        """The same as `status`, under the name requests and httpx use."""
        return self.status

    @property
    def text(self) -> str:
        return self.content.decode("utf-8")

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    def __repr__(self) -> str:
        return f"<TestResponse {self.status_line}>"


class _Cookie(NamedTuple):
    value: str
    expires: float | None  # None: a session cookie, kept as long as the client
    created: int  # RFC 6265 5.4: same path length, older cookie first


class CookieJar(MutableMapping[str, str]):
    """The cookies a browser would hold for the test host, read as `name -> value`.

    Filled from every response's Set-Cookie (RFC 6265 5.2, 5.3) and sent back
    on each request whose path path-matches the cookie's Path (5.1.4), so a
    cookie scoped to /api/a is not sent to /api/ab. Values are kept as on the
    wire (still percent-encoded, as `res.set_cookie` sent them). A name set
    on two paths is two cookies; reading it gives the most specific one, and
    deleting it drops both. `jar[name] = value` adds one with Path=/.
    Domain, Secure, HttpOnly and SameSite are not checked: there is one
    plain-HTTP test host and no script, so every cookie is the host's.
    """

    __slots__ = ("_cookies", "_order")

    def __init__(self) -> None:
        self._cookies: dict[tuple[str, str], _Cookie] = {}
        self._order = itertools.count()

    def set(self, name: str, value: str, *, path: str = "/", expires: float | None = None) -> None:
        """Store one cookie; an `expires` already past deletes it instead, as Max-Age=0 does."""
        key = (name, path)
        if expires is not None and expires <= _now():
            self._cookies.pop(key, None)
            return
        old = self._cookies.get(key)
        self._cookies[key] = _Cookie(value, expires, old.created if old else next(self._order))

    def extract(self, set_cookies: Iterable[str], request_path: str) -> None:
        """Store what a response's Set-Cookie headers say, for a request to `request_path`."""
        now = _now()
        for header in set_cookies:
            parsed = parse_set_cookie(header, request_path, now)
            if parsed is not None:
                name, value, path, expires = parsed
                self.set(name, value, path=path, expires=expires)

    def matching(self, request_path: str) -> list[tuple[str, str]]:
        """(name, value) to send to `request_path`: longest Path first, then oldest."""
        found = [(len(path), c.created, name, c.value) for (name, path), c in self._live()
                 if path_match(request_path, path)]
        found.sort(key=lambda item: (-item[0], item[1]))
        return [(name, value) for _, _, name, value in found]

    def _live(self) -> list[tuple[tuple[str, str], _Cookie]]:
        """The unexpired cookies, oldest first; the expired ones are dropped on the way."""
        now = _now()
        for key in [k for k, c in self._cookies.items() if c.expires is not None and c.expires <= now]:
            del self._cookies[key]
        return sorted(self._cookies.items(), key=lambda item: item[1].created)

    def __getitem__(self, name: str) -> str:
        paths = [(len(path), c.value) for (n, path), c in self._live() if n == name]
        if not paths:
            raise KeyError(name)
        return max(paths)[1]

    def __setitem__(self, name: str, value: str) -> None:
        self.set(name, value)

    def __delitem__(self, name: str) -> None:
        keys = [key for key in self._cookies if key[0] == name]
        if not keys:
            raise KeyError(name)
        for key in keys:
            del self._cookies[key]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for (name, _), _ in self._live()))

    def __len__(self) -> int:
        return len({name for (name, _), _ in self._live()})

    def __repr__(self) -> str:
        return f"<CookieJar {dict(self)!r}>"


def parse_set_cookie(header: str, request_path: str, now: float) -> tuple[str, str, str, float | None] | None:
    """(name, value, path, expires) from one Set-Cookie value as RFC 6265 5.2 reads it, or None.

    Max-Age beats Expires; a Max-Age of 0 or less, like a past Expires, means
    "delete" (an expiry before `now`); a bad Max-Age or date is ignored; a
    missing or relative Path is the request's default path (5.1.4).
    """
    pair, *attributes = header.split(";")
    name, eq, value = pair.partition("=")
    name, value = name.strip(_WS), value.strip(_WS)
    if not eq or not name:
        return None
    path: str | None = None
    expires: float | None = None
    max_age: int | None = None
    for attribute in attributes:
        key, _, arg = attribute.partition("=")
        key, arg = key.strip(_WS).lower(), arg.strip(_WS)
        if key == "path":
            path = arg if arg.startswith("/") else None  # the last Path counts, even a bad one
        elif key == "max-age" and _MAX_AGE.fullmatch(arg):
            max_age = int(arg)
        elif key == "expires":
            when = _cookie_date(arg)
            if when is not None:
                expires = when
    if max_age is not None:
        expires = now + max_age if max_age > 0 else float("-inf")
    return name, value, path or default_path(request_path), expires


def _cookie_date(value: str) -> float | None:
    """An Expires date as a timestamp; the old `01-Jan-1970` form too; None when unreadable."""
    for text in (value, value.replace("-", " ")):
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return when.timestamp()
    return None


def default_path(request_path: str) -> str:
    """RFC 6265 5.1.4: the request path up to, not including, its last `/`; at least `/`."""
    if not request_path.startswith("/") or request_path.count("/") == 1:
        return "/"
    return request_path[:request_path.rindex("/")]


def path_match(request_path: str, cookie_path: str) -> bool:
    """RFC 6265 5.1.4: Path=/api/a reaches /api/a and /api/a/b, never /api/ab."""
    if request_path == cookie_path:
        return True
    return request_path.startswith(cookie_path) and (
        cookie_path.endswith("/") or request_path[len(cookie_path)] == "/")


class Client:
    """Drive a WSGI app like an HTTP client would, without a server (R54).

    `client.cookies` is the CookieJar kept across calls, like a browser's;
    `Client(app, cookies=False)` turns it off (and `client.cookies` is None),
    so each request carries only the cookies passed to it.
    """

    __test__ = False

    def __init__(self, app: Any, *, raise_server_exceptions: bool = True, cookies: bool = True) -> None:
        self.app = validator(app)
        self.raise_server_exceptions = raise_server_exceptions
        self.cookies: CookieJar | None = CookieJar() if cookies else None

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        cookies: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | str | bytes | None = None,
        body: str | bytes | None = None,
        chunked: bool = False,
        environ: Mapping[str, Any] | None = None,
    ) -> TestResponse:
        """Send one request. `path` may carry a query string and %-escapes, as on the wire.

        `json` sends a JSON body, `data` a form (dict) or raw body, `body` raw
        bytes. `chunked=True` sends the body without Content-Length, as a
        server does for chunked input (`wsgi.input_terminated`). `cookies` are
        sent over the jar's for this call only, never stored; a `Cookie` in
        `headers` (and no `cookies`) is sent as given, without the jar's.
        """
        path, _, qs = path.partition("?")
        if query:
            extra = urlencode(query, doseq=True)
            qs = f"{qs}&{extra}" if qs else extra
        hdrs = {k.lower(): v for k, v in (headers or {}).items()}
        payload: bytes | None = None
        if json is not None:
            payload = jsonlib.dumps(json).encode("utf-8")
            hdrs.setdefault("content-type", "application/json")
        elif isinstance(data, Mapping):
            payload = urlencode(data, doseq=True).encode("ascii")
            hdrs.setdefault("content-type", "application/x-www-form-urlencoded")
        elif data is not None or body is not None:
            raw = data if data is not None else body
            payload = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)  # type: ignore[arg-type]
        wire_path = quote(path, safe=_URI_SAFE)
        jar = self.cookies
        sent = jar.matching(wire_path) if jar is not None and (cookies or "cookie" not in hdrs) else []
        if cookies:
            sent = [(k, v) for k, v in sent if k not in cookies] + list(cookies.items())
        if sent:
            hdrs["cookie"] = "; ".join(f"{k}={v}" for k, v in sent)

        env = build_environ(method.upper(), path, qs, hdrs, payload, chunked=chunked)
        if environ:
            env.update(environ)
        resp = self._call(env)
        if jar is not None:
            jar.extract(resp.headers.get_all("Set-Cookie"), wire_path)
        return resp

    def _call(self, env: dict[str, Any]) -> TestResponse:
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = [status, headers]
            return lambda data: None

        result = self.app(env, start_response)
        try:
            chunks = [chunk for chunk in result]
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        exc = env.get(EXCEPTION_KEY)
        if exc is not None and self.raise_server_exceptions:
            raise exc
        return TestResponse(started[0], started[1], chunks)

    def get(self, path: str, **kw: Any) -> TestResponse:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> TestResponse:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> TestResponse:
        return self.request("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> TestResponse:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> TestResponse:
        return self.request("DELETE", path, **kw)

    def options(self, path: str, **kw: Any) -> TestResponse:
        return self.request("OPTIONS", path, **kw)

    def head(self, path: str, **kw: Any) -> TestResponse:
        return self.request("HEAD", path, **kw)


def build_environ(
    method: str,
    path: str,
    query_string: str = "",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    *,
    chunked: bool = False,
) -> dict[str, Any]:
    """A WSGI environ as a server would build it for this request line, headers and body."""
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        # A server hands the app the path %-decoded, as latin-1 characters of the bytes.
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1") or "/",
        "QUERY_STRING": query_string,
        "RAW_URI": quote(path, safe=_URI_SAFE) + (f"?{query_string}" if query_string else ""),
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body or b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if body is not None and not chunked:
        env["CONTENT_LENGTH"] = str(len(body))
    if chunked:
        env["wsgi.input_terminated"] = True
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        env[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value
    return env
