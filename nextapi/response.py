"""The response a handler builds as `res`, and the one function that turns it
into WSGI status, headers and body (R30–R37).

Every path (`res.json`, `res.send`, a returned value, an error) ends in
`finalize`, which alone knows about Content-Length, HEAD, 204/304 and ETags.
"""
from __future__ import annotations

import json
import json.encoder
import re
import sys
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from enum import Enum

from ._http import (
    BYTES_TYPE,
    CHUNK,
    EXCEPTION_KEY,
    JSON_TYPE,
    STATUS_LINES,
    SURROGATES,
    TEXT_TYPE,
    status_line,
)
from .config import format_size
from .errors import logger
from .eventloop import isawaitable, run, thread_loop

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (PERF: cold start); mypy reads the name
if TYPE_CHECKING:
    import asyncio
    from datetime import datetime
    from typing import Any, Protocol

    from ._types import Environ, Result



def _json_default(value: Any) -> Any:
    """What `res.json` sends besides JSON's own types (R31); anything else is a TypeError naming it."""
    # PERF: a date, UUID or Decimal exists only once its module is imported, so none is imported here (cold start)
    mods = sys.modules
    dt = mods.get("datetime")
    if dt is not None and isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()  # a naive datetime stays naive, an aware one keeps its offset
    uuid, decimal = mods.get("uuid"), mods.get("decimal")
    if (uuid is not None and isinstance(value, uuid.UUID)) or (decimal is not None and isinstance(value, decimal.Decimal)):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return list(value)
    if hasattr(type(value), "__dataclass_fields__") and not isinstance(value, type):
        from dataclasses import (
            fields,  # PERF: a dataclass instance implies dataclasses is imported; not at start-up
        )

        return {f.name: getattr(value, f.name) for f in fields(value)}  # nested values encode in turn
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)  # None without the C accelerator
_encode_json: Callable[[Any], str]
if _c_make_encoder is not None:
    # PERF: the C encoder called directly, made once: JSONEncoder.encode makes one per call,
    # through two Python frames and a closure. Without a markers dict a cycle is a
    # RecursionError (caught in dumps); a shared dict would flag an object that two
    # threads send at once (a module-level list, say) as circular.
    _c_encode = _c_make_encoder(None, _json_default, json.encoder.encode_basestring, None, ":", ",",
                                False, False, False)

    def _encode_json(value: Any) -> str:
        return "".join(_c_encode(value, 0))
else:
    _encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                                    default=_json_default).encode
_NO_BODY = (204, 304)
# What wsgiref.validate accepts as a header name, and no control characters in values.
_NAME_RE = re.compile(r"[A-Za-z](?:[A-Za-z0-9_-]*[A-Za-z0-9])?\Z")
# A cookie name is an RFC 6265 token: `__Host-sid`, `_ga` and `a.b` are everyday names.
_COOKIE_NAME_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_BAD_VALUE_RE = re.compile(r"[\x00-\x1f\x7f]")
_HOP_BY_HOP = frozenset(
    ("connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
     "te", "trailer", "trailers", "transfer-encoding", "upgrade")
)
_SAME_SITE = {"lax": "Lax", "strict": "Strict", "none": "None"}
_REDIRECT_ERROR = (
    "Invalid redirect arguments. Please use a single argument URL, e.g. res.redirect('/destination') "
    "or use a status code and URL, e.g. res.redirect(307, '/destination')."
)


class SerializationError(TypeError):
    """A handler sent a value JSON cannot encode; the message names its type."""


class ResponseSentError(RuntimeError):
    """Raised when a handler sends twice or changes headers after sending."""


# What a body encoder returns for a streamed body: a function from the stream's byte chunks
# (as they are produced) to the chunks to send instead.
StreamEncoder = Callable[[Iterator[bytes]], Iterator[bytes]]


if TYPE_CHECKING:
    class BodyEncoder(Protocol):
        """A content coding applied to a response as it is finalized (`res.add_encoder`; nextapi.gzip).

        Called once, with `body` the whole body or None when the body is streamed, before
        `finalize` computes the ETag, answers If-None-Match or counts Content-Length, so those
        describe the encoded bytes. It returns None to leave the body as it is, the new bytes of
        a whole body, or for a stream a `StreamEncoder` wrapping its chunks. The response is
        finished by then, so it changes headers (Content-Encoding, Vary) in `res._headers`.
        """

        def __call__(self, res: Response, body: bytes | None, /) -> bytes | StreamEncoder | None:
            ...


def dumps(value: Any) -> bytes:
    """JSON bytes, compact as JSON.stringify; a bad value raises TypeError naming its type."""
    try:
        text = _encode_json(value)
    except (TypeError, ValueError, RecursionError) as exc:  # an object, NaN / Infinity, a cycle
        raise SerializationError(f"Response is not JSON serializable: {exc}") from None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # surrogates only occur inside JSON strings, where the escape is valid
        return re.sub(SURROGATES, lambda m: f"\\u{ord(m.group()):04x}", text).encode("utf-8")


def _check_header(name: str, value: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"Invalid header name {name!r}")
    if _BAD_VALUE_RE.search(value):
        raise ValueError(f"Invalid character in header {name!r}: CR, LF, NUL and control characters are refused")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"Header {name!r} has characters outside Latin-1; percent-encode them") from None


class Response:
    """What a handler gets as `res`: chainable status, then one send."""

    __slots__ = ("_after", "_before_handler", "_body", "_chunks", "_encoders", "_headers", "_stream", "finished",
                 "status_code")

    def __init__(self) -> None:
        self.status_code = 200
        self._headers: dict[str, tuple[str, str | list[str]]] = {}
        # The headers as they stood when the handler was called (set by the app): a 500 keeps them.
        self._before_handler: dict[str, tuple[str, str | list[str]]] | None = None
        self._after: list[tuple[Callable[..., Any], tuple[Any, ...]]] | None = None
        self._encoders: list[BodyEncoder] | None = None
        self._chunks: list[bytes] | None = None  # PERF: made by the first write(), most responses have none
        self._body: bytes | None = None
        self._stream: Iterable[Any] | None = None
        self.finished = False

    def __repr__(self) -> str:
        return f"<Response {self.status_code}{' sent' if self.finished else ''}>"

    # -- status and headers -------------------------------------------------
    def status(self, code: int) -> Response:
        if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
            raise ValueError(f"Invalid status code {code!r}: use an int from 100 to 599")
        self._check_open()
        self.status_code = code
        return self

    def set_header(self, name: str, value: str | int | list[str]) -> Response:
        """Set a header; a list sends it once per item. CR/LF/NUL raise ValueError."""
        self._check_open()
        values = [str(v) for v in value] if isinstance(value, (list, tuple)) else str(value)
        for v in values if isinstance(values, list) else (values,):
            _check_header(name, v)
        if name.lower() in _HOP_BY_HOP:
            logger.debug("ignored hop-by-hop header %s: the server manages it", name)
            return self
        self._headers[name.lower()] = (name, values)
        return self

    def get_header(self, name: str) -> str | list[str] | None:
        item = self._headers.get(name.lower())
        return None if item is None else item[1]

    def remove_header(self, name: str) -> Response:
        self._check_open()
        self._headers.pop(name.lower(), None)
        return self

    def set_cookie(
        self,
        name: str,
        value: str,
        *,
        max_age: int | None = None,
        expires: datetime | float | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        http_only: bool = True,
        same_site: str | None = "Lax",
    ) -> Response:
        """Add a Set-Cookie header; the value is percent-encoded like Next.js does."""
        if not isinstance(name, str) or not _COOKIE_NAME_RE.match(name):
            raise ValueError(f"Invalid cookie name {name!r}")
        from urllib.parse import (
            quote,  # PERF: on the first cookie, not at import (cold start)
        )

        parts = [f"{name}={quote(str(value), safe=_COOKIE_SAFE)}"]
        if max_age is not None:
            parts.append(f"Max-Age={int(max_age)}")
        if expires is not None:
            from datetime import (  # PERF: only for a cookie with Expires (cold start)
                datetime,
                timezone,
            )
            from email.utils import format_datetime

            if not isinstance(expires, datetime):
                expires = datetime.fromtimestamp(expires, timezone.utc)
            elif expires.tzinfo is None:
                expires = expires.replace(tzinfo=timezone.utc)
            parts.append(f"Expires={format_datetime(expires.astimezone(timezone.utc), usegmt=True)}")
        for label, attr in (("domain", domain), ("path", path)):
            if attr and (";" in attr or _BAD_VALUE_RE.search(attr)):  # no `Path=/; Domain=evil`
                raise ValueError(f"Invalid cookie {label} {attr!r}: ';' and control characters are refused")
        if domain:
            parts.append(f"Domain={domain}")
        if path:
            parts.append(f"Path={path}")
        if secure:
            parts.append("Secure")
        if http_only:
            parts.append("HttpOnly")
        if same_site:
            site = _SAME_SITE.get(str(same_site).lower())
            if site is None:
                raise ValueError(f"same_site must be 'Lax', 'Strict' or 'None', not {same_site!r}")
            parts.append(f"SameSite={site}")
        cookie = "; ".join(parts)
        _check_header("Set-Cookie", cookie)
        existing = self.get_header("Set-Cookie")
        cookies = [] if existing is None else existing if isinstance(existing, list) else [existing]
        return self.set_header("Set-Cookie", [*cookies, cookie])

    def clear_cookie(self, name: str, *, path: str | None = "/", domain: str | None = None) -> Response:
        return self.set_cookie(name, "", max_age=0, expires=0, path=path, domain=domain,
                               http_only=False, same_site=None)

    # -- body ---------------------------------------------------------------
    def json(self, value: Any) -> None:
        """Send any JSON value, `None` and `True` included, as application/json."""
        data = dumps(value)
        self._check_open()
        self._headers["content-type"] = ("Content-Type", JSON_TYPE)  # PERF: a known-good header
        self._finish(data)

    def send(self, body: Any = None) -> None:
        """Send a body, choosing the encoding and Content-Type by its type (R32)."""
        if body.__class__ is dict or body.__class__ is list:  # PERF: what API handlers send most, inline
            data = dumps(body)
            if self.finished:
                self._check_open()
            headers = self._headers
            if "content-type" not in headers:
                headers["content-type"] = ("Content-Type", JSON_TYPE)
            self._body = data if self._chunks is None else b"".join(self._chunks) + data
            self._chunks = None
            self.finished = True
        elif body is None:
            self._finish(b"")
        elif isinstance(body, str):
            self._default_type(TEXT_TYPE)
            self._finish(body.encode("utf-8"))
        elif isinstance(body, (bytes, bytearray, memoryview)):
            self._default_type(BYTES_TYPE)
            self._finish(bytes(body))
        elif isinstance(body, (dict, list, tuple, int, float, set, frozenset)):  # subclasses, tuples, sets
            data = dumps(body)
            self._default_type(JSON_TYPE)
            self._finish(data)
        elif isawaitable(body):  # R82: never a coroutine sent as a body
            close = getattr(body, "close", None)
            if close is not None:
                close()  # no "never awaited" warning on top of this error
            raise TypeError(f"res.send() got an awaitable ({type(body).__name__}): await it first")
        elif hasattr(body, "read") or isinstance(body, Iterable) or hasattr(body, "__aiter__"):
            self._check_open()
            self._default_type(BYTES_TYPE)
            self._stream = body
            self.finished = True
        else:
            data = dumps(body)  # raises TypeError naming the type
            self._default_type(JSON_TYPE)
            self._finish(data)

    def write(self, chunk: str | bytes) -> Response:
        """Append to the body; `end()` finishes it."""
        self._check_open()
        if self._chunks is None:
            self._chunks = []
        self._chunks.append(chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk))
        return self

    def end(self, body: str | bytes | None = None) -> None:
        if body is not None:
            self.write(body)
        self._finish(b"")

    def redirect(self, status_or_url: int | str, url: str | None = None) -> None:
        """`redirect(url)` answers 307; `redirect(status, url)` any status (R34)."""
        if url is None and isinstance(status_or_url, str):
            status, url = 307, status_or_url
        elif isinstance(status_or_url, int) and not isinstance(status_or_url, bool) and isinstance(url, str):
            status = status_or_url
        else:
            raise ValueError(_REDIRECT_ERROR)
        from urllib.parse import (
            quote,  # PERF: on the first redirect, not at import (cold start)
        )

        location = quote(url, safe="/:?#[]@!$&'()*+,;=-._~%")
        self.status(status).set_header("Location", location)
        self._default_type(TEXT_TYPE)
        self._finish(location.encode("latin-1"))

    def after(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` once the response's last byte was handed to the server (R106), as
        Next.js's `after()`: logging, analytics, cache warming that the client need not wait for.

        It runs in the same worker, from the WSGI body's `close()`; an exception in it is
        logged and changes nothing; an `async def` fn is awaited.
        """
        if not callable(fn):
            raise TypeError(f"res.after() takes a function, not {type(fn).__name__}")
        if self._after is None:
            self._after = []
        self._after.append((fn, args))

    def add_encoder(self, encoder: BodyEncoder) -> None:
        """Have `encoder` re-encode the final body (see `BodyEncoder`): for middleware such as
        nextapi.gzip, which registers one before calling next(), so error answers get it too.

        Encoders run innermost first: the one registered last (by the middleware nearest
        the handler) sees the body first. An error answer keeps them.
        """
        if self._encoders is None:
            self._encoders = []
        self._encoders.append(encoder)

    # -- internals ----------------------------------------------------------
    def _check_open(self) -> None:
        if self.finished:
            raise ResponseSentError("The response was already sent; it cannot be changed or sent again")

    def _default_type(self, content_type: str) -> None:
        if "content-type" not in self._headers:
            self._check_open()
            self._headers["content-type"] = ("Content-Type", content_type)  # PERF: our constants need no checks

    def _finish(self, data: bytes) -> None:
        self._check_open()
        if self._chunks:
            data = b"".join(self._chunks) + data
        self._chunks = None
        self._body = data
        self.finished = True

    def _reset(self, headers: dict[str, tuple[str, str | list[str]]] | None) -> None:
        """Forget the body so an error can replace it, going back to `headers` (None: keep them)."""
        self._close_stream()
        if headers is not None:
            self._headers = dict(headers)
        self._headers.pop("content-type", None)
        self._headers.pop("content-length", None)
        self._chunks, self._body, self._stream, self.finished = None, None, None, False

    def _close_stream(self) -> None:
        close = getattr(self._stream, "close", None)
        aclose = getattr(self._stream, "aclose", None)
        if close is not None:
            close()
        elif aclose is not None:  # an async generator never started: let it finish
            run(aclose())


_COOKIE_SAFE = "-_.!~*'()"  # what encodeURIComponent leaves alone


def send_error(res: Response, message: str, detail: dict[str, Any] | None = None, *, body: Any = None) -> None:
    """Every error nextapi makes has this one body (R42): `{"error": message}` (plus dev
    `detail`), or an `HTTPError`'s own `body` (R40). Changing error bodies is done here only."""
    if body is None:
        body = {"error": message}
        if detail:
            body.update(detail)
    res.json(body)


def error_response(status: int, message: str, method: str = "GET", *,
                   headers: Iterable[tuple[str, str]] = (), detail: dict[str, Any] | None = None) -> Result:
    """A whole error answer made before (or without) a handler: the app's 404/414/400, the
    frontend's 405/412/416, the dev server's own 400/431/505."""
    res = Response()
    res.status(status)
    for name, value in headers:
        res.set_header(name, value)
    send_error(res, message, detail)
    return finalize(res, method, {}, etag=False)


def etag_of(data: bytes) -> str:
    """A strong validator from the bytes: their length and two 32-bit checksums (Next.js uses a
    52-bit hash and the length). PERF: CRC-32 and Adler-32 cost a quarter of a BLAKE2 digest."""
    # PERF: printf-style formatting of one 64-bit int; format specs in an f-string cost twice as much
    return '"%x-%x"' % (len(data), _crc32(data) << 32 | _adler32(data))  # noqa: UP031


_crc32, _adler32 = zlib.crc32, zlib.adler32


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 8.8.3.2) against a list header, `*` included."""
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    for tag in if_none_match.split(","):
        tag = tag.strip()
        tag = tag.removeprefix("W/")
        if tag == opaque:
            return True
    return False


def finalize(
    res: Response, method: str, environ: Environ, etag: bool = True,
    response_limit: int | None = None, path: str = "", dev: bool = False,
) -> Result:
    """Turn a finished Response into (status line, headers, body iterable)."""
    status = res.status_code
    headers = res._headers
    stream = res._stream
    if res.finished:
        body = res._body or b""  # None when streamed
    else:  # a write() without end(): what was written
        body = b"".join(res._chunks) if res._chunks else b""
    if res._encoders is not None:  # PERF: one attribute test for the responses nothing re-encodes
        body, stream = _encode(res, res._encoders, body, stream, path, environ)

    if stream is None and etag and 200 <= status < 300 and status != 204 and method in _GET_HEAD:
        if "etag" not in headers:
            headers["etag"] = ("ETag", etag_of(body))
        inm = environ.get("HTTP_IF_NONE_MATCH")
        if inm:
            tag = headers["etag"][1]
            if isinstance(tag, str) and etag_matches(inm, tag):
                status = 304

    out: list[tuple[str, str]] = []
    for name, value in headers.values():
        if value.__class__ is list:  # PERF: set_header stores a plain list, or a str
            out.extend((name, v) for v in value)
        else:
            out.append((name, value))  # type: ignore[arg-type]

    chunks: Iterable[bytes]
    if status in _NO_BODY:
        if dev and res.status_code in _NO_BODY and (body or stream is not None):
            logger.warning("A body was attempted to be set with a %d statusCode for %s, this is invalid "
                           "and the body was ignored.", status, path)  # R33: Next.js's words
        res._close_stream()
        out = [h for h in out if h[0].lower() not in ("content-type", "content-length")]
        chunks = []
    else:
        if "content-length" in headers:  # ours is counted below, or a stream has none
            out = [h for h in out if h[0].lower() != "content-length"]
        if "content-type" not in headers:
            out.append(("Content-Type", TEXT_TYPE if stream is None else BYTES_TYPE))
        if stream is not None:
            if method == "HEAD":
                res._close_stream()
                chunks = []
            else:
                chunks = _StreamBody(stream, path, environ, response_limit)
        else:
            out.append(("Content-Length", str(len(body))))
            if response_limit is not None and len(body) >= response_limit:
                _warn_limit(path, response_limit)
            chunks = [] if method == "HEAD" else [body]
    if res._after is not None:  # PERF: one test for the responses without res.after()
        chunks = _AfterBody(chunks, res._after, path)
    return STATUS_LINES.get(status) or status_line(status), out, chunks


_GET_HEAD = ("GET", "HEAD")


def _encode(res: Response, encoders: list[BodyEncoder], body: bytes, stream: Iterable[Any] | None,
            path: str, environ: Environ) -> tuple[bytes, Iterable[Any] | None]:
    """Run the response's encoders, innermost first: a whole body's new bytes, or a stream wrapped."""
    wraps: list[StreamEncoder] = []
    for encoder in reversed(encoders):
        out = encoder(res, None if stream is not None else body)
        if out is None:
            continue
        if stream is None:
            if not isinstance(out, bytes):
                raise TypeError(f"a body encoder returned {type(out).__name__} for a whole body, not bytes")
            body = out
        elif callable(out):
            wraps.append(out)
        else:
            raise TypeError(f"a body encoder returned {type(out).__name__} for a stream, not a function")
    if wraps:
        stream = _EncodedStream(stream, wraps, path, environ)
    return body, stream


class _EncodedStream:
    """A streamed body through encoders' wrappers, over its chunks as bytes. Started when first
    iterated, so a HEAD or a 304 never runs the handler's generator."""

    __slots__ = ("_environ", "_inner", "_outer", "_path", "_source", "_wraps")

    def __init__(self, source: Any, wraps: list[StreamEncoder], path: str, environ: Environ) -> None:
        self._source, self._wraps, self._path, self._environ = source, wraps, path, environ
        self._inner: _StreamBody | None = None
        self._outer: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        self._inner = _StreamBody(self._source, self._path, self._environ)  # the limit counts what is sent
        chunks: Iterator[bytes] = self._inner
        for wrap in self._wraps:
            chunks = wrap(chunks)
        self._outer = chunks
        return chunks

    def close(self) -> None:
        close = getattr(self._outer, "close", None)
        try:
            if close is not None:
                close()
        finally:
            if self._inner is not None:
                self._inner.close()


class _AfterBody:
    """The WSGI body, then the `res.after()` callbacks from its `close()` (PEP 3333: the server
    calls it once the last byte is out, even when the client went away)."""

    __slots__ = ("_body", "_callbacks", "_path")

    def __init__(self, body: Iterable[bytes], callbacks: list[tuple[Callable[..., Any], tuple[Any, ...]]],
                 path: str) -> None:
        self._body, self._callbacks, self._path = body, callbacks, path

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            callbacks, self._callbacks = self._callbacks, []
            for fn, args in callbacks:
                try:
                    result = fn(*args)
                    if isawaitable(result):
                        run(result)
                except Exception:
                    logger.exception("res.after() callback %r failed for %s", fn, self._path)


def _warn_limit(path: str, limit: int) -> None:
    logger.warning("API response for %s exceeds %s. API Routes are meant to respond quickly.",
                   path, format_size(limit))


class _StreamBody:
    """A WSGI body over a handler's iterable or file: chunk by chunk, closed once."""

    __slots__ = ("_environ", "_iter", "_limit", "_loop", "_path", "_sent", "_source")

    def __init__(self, source: Any, path: str, environ: dict[str, Any], limit: int | None = None) -> None:
        self._source = source
        self._path = path
        self._environ = environ
        self._limit = limit  # the response limit (R37); None once warned, or when off
        self._sent = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        read = getattr(source, "read", None)
        if read is not None:
            self._iter: Iterator[Any] = _read_chunks(read)
        elif hasattr(source, "__aiter__") and not isinstance(source, Iterable):  # R81: async generators
            self._loop = thread_loop()  # the request's thread: where its async resources live
            self._iter = _async_chunks(source.__aiter__(), self._loop)
        else:
            self._iter = iter(source)

    def __iter__(self) -> _StreamBody:
        return self

    def __next__(self) -> bytes:
        while True:
            try:
                chunk = next(self._iter)
            except StopIteration:
                raise
            except Exception as exc:
                # Headers are gone already: log and end the body early. The environ
                # key lets the test client raise it again, as for any handler error.
                logger.exception("error while streaming the response for %s", self._path)
                self._environ[EXCEPTION_KEY] = exc
                raise StopIteration from None
            if isinstance(chunk, str):
                chunk = chunk.encode("utf-8")
            elif not isinstance(chunk, bytes):
                chunk = bytes(chunk) if isinstance(chunk, (bytearray, memoryview)) else dumps(chunk)
            if chunk:
                if self._limit is not None:
                    self._sent += len(chunk)
                    if self._sent >= self._limit:  # once, when the stream crosses the limit
                        _warn_limit(self._path, self._limit)
                        self._limit = None
                return chunk

    def close(self) -> None:
        if self._loop is not None:
            aclose = getattr(self._source, "aclose", None)
            if aclose is not None and not self._loop.is_closed():
                self._loop.run_until_complete(aclose())
            return
        close = getattr(self._source, "close", None)
        if close is not None:
            close()


def _async_chunks(source: AsyncIterator[Any], loop: asyncio.AbstractEventLoop) -> Iterator[Any]:
    """An async iterator's chunks, one `__anext__` on the loop per chunk the server asks for."""
    while True:
        try:
            yield loop.run_until_complete(source.__anext__())
        except StopAsyncIteration:
            return


def _read_chunks(read: Any) -> Iterator[Any]:
    while chunk := read(CHUNK):  # bytes or str files both end with an empty read
        yield chunk
