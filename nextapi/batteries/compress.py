"""Response compression (R105): `gzip()` compresses text-like bodies for clients that accept it.

The middleware only registers a body encoder on the response (`res.add_encoder`)
before calling `next()`; `finalize` runs it on the final body, error answers
included, before it computes the ETag, answers If-None-Match and counts
Content-Length. So the compressed representation gets its own ETag (computed
over the compressed bytes; a tag the handler set gets `-gzip` inside its
quotes), a conditional request with the tag the client holds still answers
304, and HEAD gets the very headers its GET would.

A whole body is compressed in one go. A streamed one is compressed chunk by
chunk, each flushed with Z_SYNC_FLUSH, so server-sent events still arrive one
by one. The module is not named gzip.py, so `import gzip` elsewhere stays the
standard library's.
"""
from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .._http import TEXT_TYPE, media_type
from ._base import Battery

if TYPE_CHECKING:  # PERF: nextapi._types only names types, for type checkers (cold start)
    from .._types import Next
    from ..request import Request
    from ..response import Response, StreamEncoder

__all__ = ["Gzip", "accepts_gzip", "compressible", "gzip"]

_WBITS = 16 + zlib.MAX_WBITS  # a gzip wrapper (header and CRC trailer), not a bare zlib stream
_SKIP_STATUS = (204, 206, 304)
# Media types whose bodies are text and shrink well; images, archives, fonts in woff/woff2
# and application/octet-stream (what bytes are sent as by default) are left alone.
_TYPES = frozenset((
    "application/json", "application/javascript", "application/x-javascript", "application/ecmascript",
    "application/xml", "application/xhtml+xml", "application/x-ndjson", "application/ndjson",
    "application/jsonl", "application/geo+json", "application/graphql", "application/yaml",
    "application/x-yaml", "application/toml", "application/wasm", "application/rtf", "application/x-sh",
    "application/x-www-form-urlencoded", "application/vnd.ms-fontobject", "image/svg+xml",
    "image/x-icon", "image/vnd.microsoft.icon", "image/bmp", "font/ttf", "font/otf",
))
_QVALUE = re.compile(r"(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)\Z")


def compressible(content_type: str | None) -> bool:
    """Is a body of this Content-Type worth compressing? text/*, JSON, JS, XML, SVG and kin."""
    media, _ = media_type(content_type)
    return media.startswith("text/") or media in _TYPES or media.endswith(("+json", "+xml"))


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Does this Accept-Encoding allow gzip? q-values count: `gzip;q=0` refuses, `*` stands in
    for gzip when gzip is not named, `x-gzip` is gzip (RFC 9110 12.5.3); no header, no gzip."""
    if not accept_encoding:
        return False
    if len(accept_encoding) <= 128:  # PERF: browsers send a handful of short headers; parsed once
        return _accepts_cached(accept_encoding)
    return _accepts(accept_encoding)  # a long one is parsed each time, never kept


def _accepts(accept_encoding: str) -> bool:
    named: float | None = None
    star: float | None = None
    for item in accept_encoding.split(",", 64)[:64]:  # bounded: a hostile header costs nothing
        coding, *params = item.split(";")
        coding = coding.strip().lower()
        if coding not in ("gzip", "x-gzip", "*"):
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                value = value.strip()
                q = float(value) if _QVALUE.match(value) else 0.0  # a malformed q-value accepts nothing
        if coding == "*":
            star = q if star is None else max(star, q)
        else:
            named = q if named is None else max(named, q)
    best = named if named is not None else star
    return best is not None and best > 0


_accepts_cached = functools.lru_cache(maxsize=256)(_accepts)


def _add_vary(headers: dict[str, tuple[str, str | list[str]]], field: str) -> None:
    """Append `field` to the Vary header unless it (or `*`) is there already."""
    item = headers.get("vary")
    if item is None:
        headers["vary"] = ("Vary", field)
        return
    values = item[1] if isinstance(item[1], list) else [item[1]]
    names = {name.strip().lower() for value in values for name in value.split(",")}
    if field.lower() not in names and "*" not in names:
        headers["vary"] = (item[0], ", ".join([*values, field]))


def _tag_gzip(headers: dict[str, tuple[str, str | list[str]]]) -> None:
    """A handler's own ETag names the identity bytes: the gzip ones get `"<tag>-gzip"`."""
    item = headers.get("etag")
    if item is not None and isinstance(item[1], str):
        tag = item[1]
        headers["etag"] = (item[0], f"{tag[:-1]}-gzip\"" if tag.endswith('"') else f"{tag}-gzip")


def _gzip_stream(level: int) -> StreamEncoder:
    def encode(chunks: Iterator[bytes]) -> Iterator[bytes]:
        z = zlib.compressobj(level, zlib.DEFLATED, _WBITS)
        for chunk in chunks:
            # Z_SYNC_FLUSH: everything so far goes out now, decodable by the client as it arrives.
            yield z.compress(chunk) + z.flush(zlib.Z_SYNC_FLUSH)
        yield z.flush()  # the end of the deflate stream and the gzip trailer
    return encode


class Gzip(Battery):
    """`gzip(min_size=1024, level=6)`: see `gzip`."""

    def __init__(self, *, min_size: int = 1024, level: int = 6) -> None:
        if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 0:
            raise ValueError(f"gzip(min_size={min_size!r}): a size in bytes, 0 or more")
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 9:
            raise ValueError(f"gzip(level={level!r}): a zlib level from 1 (fastest) to 9 (smallest)")
        self.min_size = min_size
        self.level = level
        self._stream = _gzip_stream(level)
        # PERF: the two encoders a request can get, made once: [refused, accepted]
        self._encoders = (functools.partial(self._encode, False), functools.partial(self._encode, True))

    def __repr__(self) -> str:
        return f"gzip(min_size={self.min_size}, level={self.level})"

    def handle(self, req: Request, res: Response, next: Next) -> Any:
        environ = req.environ
        # Decided now, used when the response is finalized: may it be sent compressed?
        ok = accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING")) and "HTTP_RANGE" not in environ
        res.add_encoder(self._encoders[ok])
        return next()

    def _encode(self, ok: bool, res: Response, body: bytes | None) -> bytes | StreamEncoder | None:
        status = res.status_code
        headers = res._headers
        if status < 200 or status in _SKIP_STATUS or "content-encoding" in headers:
            return None
        item = headers.get("content-type")
        ctype = item[1] if item is not None else (TEXT_TYPE if body is not None else None)
        if not isinstance(ctype, str) or not compressible(ctype):
            return None
        if body is not None and len(body) < self.min_size:
            return None
        control = headers.get("cache-control")
        if control is not None and "no-transform" in str(control[1]).lower():  # the handler said: as is
            return None
        # From here the answer depends on Accept-Encoding, compressed or not: caches must know.
        _add_vary(headers, "Accept-Encoding")
        if not ok:
            return None
        if body is not None:
            z = zlib.compressobj(self.level, zlib.DEFLATED, _WBITS)
            data = z.compress(body) + z.flush()
            if len(data) >= len(body):  # it did not shrink: the identity bytes are better
                return None
        headers["content-encoding"] = ("Content-Encoding", "gzip")
        _tag_gzip(headers)
        return data if body is not None else self._stream


def gzip(*, min_size: int = 1024, level: int = 6) -> Gzip:
    """A middleware (and decorator) that gzips responses for clients whose Accept-Encoding allows it.

    Compressed: text/*, JSON, JavaScript, XML, SVG and similar types; whole bodies of
    `min_size` bytes or more, and streams whatever their size, chunk by chunk (server-sent
    events still arrive one by one). Left alone: 204, 206 and 304 answers, requests with
    Range, bodies that already have a Content-Encoding, `Cache-Control: no-transform`,
    and bodies that would not shrink. `level` is zlib's, 1 (fastest) to 9 (smallest).
    """
    return Gzip(min_size=min_size, level=level)
