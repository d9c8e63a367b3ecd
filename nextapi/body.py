"""Request bodies: size limits, reading within them, and parsing by content type.

Reading and parsing are separate so ``req.raw_body`` (signature checks) and
``req.body`` share one read, and so the limit is enforced before any byte
past it is buffered (R24).
"""
from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from itertools import accumulate

from ._http import CHUNK, media_type
from .errors import HTTPError
from .query import parse_query_bytes

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (PERF: cold start); mypy reads the name
if TYPE_CHECKING:
    from typing import Any

MAX_JSON_DEPTH = 64

def check_length(environ: dict[str, Any], limit: int, label: str) -> int | None:
    """The declared Content-Length (None if not given), or 400/413 before any read.

    Lets the app refuse an oversized upload up front, from the header alone.
    """
    length = _content_length(environ.get("CONTENT_LENGTH"))
    if length is not None and length > limit:
        raise _too_large(label)
    return length


def read_body(environ: dict[str, Any], limit: int, label: str) -> bytes | None:
    """Read ``wsgi.input`` without ever holding more than ``limit`` (+1) bytes.

    ``None`` means there is no body: no Content-Length and no terminated
    (chunked) input, or a terminated input that was empty. Over the limit is
    ``HTTPError(413, "Body exceeded <label> limit")``.
    """
    value = environ.get("CONTENT_LENGTH")
    # PERF: a small declared length (most JSON bodies) is one read, no generator; a short read,
    # an error or anything unusual takes the general path, which says what went wrong
    if value and len(value) < 6 and value.isdigit() and value.isascii():
        length = int(value)
        if length > limit:
            raise _too_large(label)
        stream = environ.get("wsgi.input")
        if stream is not None and length <= CHUNK:
            data = _read(stream, length) if length else b""
            if len(data) == length:
                return data
            return b"".join(_read_exactly(stream, length, data))  # short, or more than asked
    chunks = iter_body(environ, limit, label)
    if chunks is None:
        return None
    data = b"".join(chunks)
    # An empty chunked body is no body; `Content-Length: 0` is an empty one.
    return data if data or environ.get("CONTENT_LENGTH") else None


def iter_body(environ: dict[str, Any], limit: int, label: str) -> Iterator[bytes] | None:
    """The body as chunks of at most CHUNK bytes, read lazily, never past ``limit``.

    ``None`` when there is no body to read. The length is checked (400/413)
    now, before any read; chunked input is counted as it arrives and stops
    with a 413 one byte past the limit. Lets multipart stream its uploads.
    """
    length = check_length(environ, limit, label)
    stream = environ.get("wsgi.input")
    if length is not None:
        return _read_exactly(stream, length) if stream is not None else iter(())
    if stream is None or not environ.get("wsgi.input_terminated"):
        if unframed_chunked(environ):
            raise HTTPError(411, "Length Required")
        return None
    return _read_terminated(stream, limit, label)


def unframed_chunked(environ: dict[str, Any]) -> bool:
    """Chunked input the server did not mark terminated and gave no length (uWSGI does this).

    Such a body cannot be read safely (PEP 3333 lets the app read only
    CONTENT_LENGTH bytes), so it is a 411 rather than a body silently dropped.
    """
    return (not environ.get("wsgi.input_terminated") and not environ.get("CONTENT_LENGTH")
            and "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower())


def _read_terminated(stream: Any, limit: int, label: str) -> Iterator[bytes]:
    total = 0
    while True:
        # Ask for at most one byte past the limit: enough to know it was exceeded.
        chunk = _read(stream, min(CHUNK, limit + 1 - total))
        if not chunk:
            return
        total += len(chunk)
        if total > limit:
            raise _too_large(label)
        yield chunk


def parse_body(
    raw: bytes | None, content_type: str | None, *,
    max_fields: int | None = None, max_depth: int = MAX_JSON_DEPTH,
) -> object:
    """Turn raw bytes into ``req.body`` by media type (R23); bad input is a 400.

    ``max_fields`` bounds the pairs of a form, ``max_depth`` the nesting of JSON
    (both 400). Multipart is parsed by nextapi.multipart, from the stream.
    """
    if raw is None:
        return None
    if content_type in JSON_TYPES:  # PERF: the Content-Type clients send most, without a parse
        return parse_json(raw, max_depth)
    media, params = media_type(content_type)
    if not media:
        return _decode_text(raw, "utf-8") if raw else None
    if media in ("application/json", "application/ld+json") or (
        media.endswith("+json") and "/" in media
    ):
        return parse_json(raw, max_depth)
    if media == "application/x-www-form-urlencoded":
        return parse_query_bytes(raw, max_fields)
    if media.startswith("text/"):
        return _decode_text(raw, params.get("charset") or "utf-8")
    return raw  # multipart/form-data and everything else: bytes, as sent


def _too_large(label: str) -> HTTPError:
    return HTTPError(413, f"Body exceeded {label} limit")


def _content_length(value: str | None) -> int | None:
    """Plain ASCII digits or nothing; ``+1``, ``1_0``, `` 1`` or ``١`` are a 400."""
    if not value:
        return None
    if not (value.isascii() and value.isdigit()):
        raise HTTPError(400, "Invalid Content-Length")
    digits = value.lstrip("0") or "0"
    # int() refuses > 4300 digits on 3.11+; any 20-digit length is over every limit.
    return int(digits) if len(digits) < 20 else 1 << 64


def _read_exactly(stream: Any, length: int, first: bytes | None = None) -> Iterator[bytes]:
    """Read ``length`` bytes in bounded chunks; a body that ends early is a 400, never passed on.

    ``first`` is a chunk read already (read_body's single read), taken as the first read.
    """
    remaining = length
    while remaining > 0:
        # read() always gets its size: wsgiref.validate asserts exactly one argument.
        chunk = _read(stream, min(CHUNK, remaining)) if first is None else first
        first = None
        if not chunk:
            raise HTTPError(400, "Invalid body: incomplete")
        chunk = chunk[:remaining]  # a stream returning more than asked is cut
        remaining -= len(chunk)
        yield chunk


def _read(stream: Any, size: int) -> bytes:
    """One read of the input; a broken one (bad chunked framing, a client gone) is a 400."""
    try:
        data: bytes = stream.read(size)
    except (OSError, ValueError):  # gunicorn's NoMoreData, InvalidChunkSize...; the dev server's ValueError
        raise HTTPError(400, "Invalid body") from None
    return data


def _decode_text(raw: bytes, charset: str) -> str:
    # A cap on the name keeps client-chosen charsets to cheap codec lookups.
    if len(charset) > 40:
        raise HTTPError(400, "Invalid body")
    try:
        return raw.decode(charset)
    except (LookupError, ValueError):  # unknown codec, or UnicodeDecodeError
        raise HTTPError(400, "Invalid body") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN/Infinity: JSON.parse refuses them too


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (_INF, -_INF):  # `1e400`: JSON.parse gives Infinity, which JSON cannot send back
        raise ValueError("number out of range")
    return value


_INF = float("inf")


def _bounded_int(text: str) -> int:
    # Python 3.10 has no int-digit limit, and int() of a huge literal is quadratic.
    if len(text) > 4300:
        raise ValueError("integer too long")
    return int(text)


# PERF: the C scanner is fastest with parse_int left at int; 3.11+ already bounds it.
_PARSE_INT = None if hasattr(sys, "get_int_max_str_digits") else _bounded_int
# PERF: one decoder, built once: json.loads with arguments builds a new one per call; and its
# C scanner called directly (JSONDecoder.decode adds two Python frames and two regex matches).
_decoder = json.JSONDecoder(parse_constant=_reject_constant, parse_int=_PARSE_INT, parse_float=_finite_float)
_scan_json = _decoder.scan_once  # type: ignore[attr-defined]  # set by JSONDecoder.__init__
_JSON_SPACE = " \t\n\r"  # RFC 8259 whitespace; str.strip() would also take \f, \v and Unicode spaces
# The JSON Content-Types clients send most, spelled exactly: parsed without media_type().
JSON_TYPES = frozenset(("application/json", "application/json; charset=utf-8", "application/json;charset=utf-8",
                         "application/json; charset=UTF-8"))


def _decode_json(text: str) -> object:
    """One JSON text, whitespace around it allowed and nothing else (as JSON.parse)."""
    stripped = text.strip(_JSON_SPACE)
    try:
        value, end = _scan_json(stripped, 0)
    except StopIteration:  # nothing, or no value where one starts
        raise ValueError("Expecting value") from None
    if end != len(stripped):
        raise ValueError("Extra data")
    return value
_DEPTH = {"[": 1, "{": 1, "]": -1, "}": -1}
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


def parse_json(raw: bytes, max_depth: int = MAX_JSON_DEPTH) -> object:
    """JSON bytes to a value; every malformation is a 400 `Invalid JSON` (R24)."""
    try:
        text = raw.decode("utf-8")  # PERF: the built-in codec; utf-8-sig is a Python-level one
    except UnicodeDecodeError:
        raise HTTPError(400, "Invalid JSON") from None
    if text and text[0] == "\ufeff":  # RFC 8259 lets a parser ignore a BOM, as utf-8-sig did
        text = text[1:]
    if not text:
        return {}  # no bytes at all: Next.js gives {} (whitespace alone is malformed, as JSON.parse has it)
    if _too_deep(text, max_depth):
        raise HTTPError(400, "Invalid JSON")
    try:
        return _decode_json(text)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        raise HTTPError(400, "Invalid JSON") from None


def _too_deep(text: str, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """Bracket nesting outside strings deeper than ``max_depth``, in linear time.

    Done before json.loads so a hostile ``[[[[...`` never recurses at all.
    """
    # PERF: most bodies cannot nest that deep at all; two C-level counts say so.
    if text.count("[") + text.count("{") <= max_depth:
        return False
    # Drop escaped backslashes, then escaped quotes: every '"' left delimits a string,
    # so the even pieces of a split on '"' are exactly the text outside strings.
    outside = "".join(text.replace("\\\\", "").replace('\\"', "").split('"')[::2])
    brackets = _NOT_BRACKETS.sub("", outside)
    return max(accumulate(map(_DEPTH.__getitem__, brackets)), default=0) > max_depth
