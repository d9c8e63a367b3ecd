"""The ``Cookie`` request header, parsed by hand so one bad pair never costs the rest.

``http.cookies.SimpleCookie`` drops everything after a malformed pair and
treats commas as separators; browsers send neither. This parser splits on
``;`` only, is linear in the header length and never raises.
"""
from __future__ import annotations

import re

from ._http import SURROGATES, unquote_to_bytes

# A "%" not followed by two hex digits makes decodeURIComponent throw.
_BAD_ESCAPE = re.compile("%(?![0-9A-Fa-f]{2})")
_WS = " \t"  # RFC 6265 OWS: U+00A0 and friends stay part of the name.


def parse_cookies(
    header: str | bytes | None, max_length: int | None = None, max_count: int | None = None,
) -> dict[str, str]:
    """Parse an ``HTTP_COOKIE`` value into ``{name: value}``; the first duplicate wins.

    Past ``max_length`` characters only the cookies that end before it are read
    (a cookie is never cut short), and at most ``max_count`` are kept: the
    browser sends the oldest first, so a flood of new cookies cannot push out
    a session. Still never raises.
    """
    if not header or not isinstance(header, (str, bytes)):
        return {}
    if max_length is not None and len(header) > max_length:
        cut = header.rfind(b";" if isinstance(header, bytes) else ";", 0, max_length + 1)  # type: ignore[arg-type]
        header = header[:max(cut, 0)]
    out: dict[str, str] = {}
    for pair in _text(header).split(";"):
        if max_count is not None and len(out) >= max_count:
            break
        name, eq, value = pair.partition("=")
        if not eq:
            continue
        name = name.strip(_WS)
        if not name or name in out:
            continue
        value = value.strip(_WS)
        if len(value) > 1 and value[0] == '"' and value[-1] == '"':
            value = value[1:-1]
        out[name] = _uri_decode(value) if "%" in value else value
    return out


def _text(header: str | bytes) -> str:
    """The header's raw bytes (latin-1 str per PEP 3333) read as UTF-8, never raising."""
    if isinstance(header, bytes):
        return header.decode("utf-8", "replace")
    if header.isascii():
        return header
    try:
        return header.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:  # already text, not latin-1 bytes
        return re.sub(SURROGATES, "\ufffd", header)


def _uri_decode(value: str) -> str:
    """decodeURIComponent in a try/catch: the decoded value, or the value as sent."""
    if _BAD_ESCAPE.search(value):
        return value
    try:
        return unquote_to_bytes(value.encode("utf-8")).decode("utf-8")
    except UnicodeError:
        return value
