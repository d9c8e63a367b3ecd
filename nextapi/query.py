"""Query strings and form bodies, parsed the way Next.js (URLSearchParams) does.

The WHATWG ``application/x-www-form-urlencoded`` parser: only ``&`` separates
pairs, the first ``=`` splits a pair, ``+`` is a space, percent-escapes are
decoded as bytes (malformed ones stay as written) and the bytes are read as
UTF-8 with U+FFFD for anything invalid. It never raises, except for
too many fields when the caller gives a limit.
"""
from __future__ import annotations

import re
from itertools import islice

from ._http import SURROGATES, unquote_to_bytes
from .errors import HTTPError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (PERF: cold start); mypy reads the name
if TYPE_CHECKING:
    from typing import Any

Query = dict[str, str | list[str]]

_PAIRS, _PAIRS_B = re.compile("[^&]+"), re.compile(b"[^&]+")


def parse_query(qs: str, max_fields: int | None = None) -> Query:
    """Parse a WSGI ``QUERY_STRING`` into ``{key: value or [values...]}``.

    PEP 3333 hands us the raw bytes decoded as latin-1; a str holding characters
    above U+00FF cannot be that, so it is taken as text and encoded as UTF-8.
    More than ``max_fields`` pairs is ``HTTPError(400, "Too many fields")``,
    the only error this module raises.
    """
    if not qs:
        return {}
    # PERF: the common query (ASCII, nothing escaped) never leaves str.
    if qs.isascii() and "%" not in qs and "+" not in qs:
        if max_fields is not None and qs.count("&") >= max_fields and _over(qs, "&", _PAIRS, max_fields):
            raise _too_many()
        out: Query = {}
        for part in qs.split("&"):
            if part:
                key, _, value = part.partition("=")
                if key in out:
                    add_pair(out, key, value)
                else:  # PERF: a key's first value, without a call
                    out[key] = value
        return out
    try:
        raw = qs.encode("latin-1")
    except UnicodeEncodeError:
        raw = re.sub(SURROGATES, "\ufffd", qs).encode("utf-8")  # as URLSearchParams does
    return parse_query_bytes(raw, max_fields)


def parse_query_bytes(raw: bytes, max_fields: int | None = None) -> Query:
    """Parse urlencoded bytes (a form body, or an encoded query) like `parse_query`."""
    if max_fields is not None and _over(raw, b"&", _PAIRS_B, max_fields):
        raise _too_many()  # before splitting or decoding anything
    out: Query = {}
    for part in raw.split(b"&"):
        if part:
            key, _, value = part.partition(b"=")
            add_pair(out, _unquote_plus(key), _unquote_plus(value))
    return out


def _over(text: Any, amp: Any, pairs: re.Pattern[Any], max_fields: int) -> bool:
    """More than max_fields non-empty pairs? Counted lazily, stopping at max_fields + 1."""
    # PERF: one C-level count settles almost every request.
    if text.count(amp) < max_fields:
        return False
    return next(islice(pairs.finditer(text), max_fields, None), None) is not None


def _too_many() -> HTTPError:
    return HTTPError(400, "Too many fields")


def _unquote_plus(b: bytes) -> str:
    """``+`` to space, percent-decode bytes, then UTF-8 with replacement."""
    if b"+" in b:
        b = b.replace(b"+", b" ")
    if b"%" in b:
        # unquote_to_bytes keeps malformed escapes (%ZZ, %4) as written, as WHATWG does.
        b = unquote_to_bytes(b)
    return b.decode("utf-8", "replace")


def add_pair(out: dict[str, Any], key: str, value: Any) -> None:
    """Store a pair; a repeated key turns into a list, in order of appearance."""
    old = out.get(key)
    if old is None:
        out[key] = value
    elif isinstance(old, list):
        old.append(value)
    else:
        out[key] = [old, value]
