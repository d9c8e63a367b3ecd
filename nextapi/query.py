"""Query strings and form bodies, parsed the way Next.js (URLSearchParams) does.

The WHATWG ``application/x-www-form-urlencoded`` parser: only ``&`` separates
pairs, the first ``=`` splits a pair, ``+`` is a space, percent-escapes are
decoded as bytes (malformed ones stay as written) and the bytes are read as
UTF-8 with U+FFFD for anything invalid. It never raises.
"""
from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

Query = dict[str, str | list[str]]

# Lone surrogates cannot be UTF-8 encoded; URLSearchParams turns them into U+FFFD.
_SURROGATES = re.compile("[\ud800-\udfff]")


def parse_query(qs: str) -> Query:
    """Parse a WSGI ``QUERY_STRING`` into ``{key: value or [values...]}``.

    PEP 3333 hands us the raw bytes decoded as latin-1; a str holding characters
    above U+00FF cannot be that, so it is taken as text and encoded as UTF-8.
    """
    if not qs:
        return {}
    # PERF: the common query (ASCII, nothing escaped) never leaves str.
    if qs.isascii() and "%" not in qs and "+" not in qs:
        out: Query = {}
        for part in qs.split("&"):
            if part:
                key, _, value = part.partition("=")
                _add(out, key, value)
        return out
    try:
        raw = qs.encode("latin-1")
    except UnicodeEncodeError:
        raw = _SURROGATES.sub("\ufffd", qs).encode("utf-8")
    return parse_query_bytes(raw)


def parse_query_bytes(raw: bytes) -> Query:
    """Parse urlencoded bytes (a form body, or an encoded query) like `parse_query`."""
    out: Query = {}
    for part in raw.split(b"&"):
        if part:
            key, _, value = part.partition(b"=")
            _add(out, _decode(key), _decode(value))
    return out


def _decode(b: bytes) -> str:
    """``+`` to space, percent-decode bytes, then UTF-8 with replacement."""
    if b"+" in b:
        b = b.replace(b"+", b" ")
    if b"%" in b:
        # unquote_to_bytes keeps malformed escapes (%ZZ, %4) as written, as WHATWG does.
        b = unquote_to_bytes(b)
    return b.decode("utf-8", "replace")


def _add(out: Query, key: str, value: str) -> None:
    """Store a pair; a repeated key turns into a list, in order of appearance."""
    old = out.get(key)
    if old is None:
        out[key] = value
    elif isinstance(old, list):
        old.append(value)
    else:
        out[key] = [old, value]
