"""Limits on what a request may make the app parse, with documented defaults.

One frozen object per App (``App(pages, limits=Limits(max_fields=5000))``) so a
hostile request costs bounded time and memory everywhere, whatever the route.
The body size itself is per route (``config["body_parser"]["size_limit"]``,
R13, 1 MB by default), as in Next.js.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

KB = 1024
MB = 1024 * KB


@dataclass(frozen=True)
class Limits:
    """What one request may ask of the parsers; each breach is a clean 4xx.

    - ``max_query_length``: bytes of ``QUERY_STRING``; longer is 414, before routing.
    - ``max_fields``: pairs in a query string or urlencoded form, and parts in a
      multipart body; more is 400 when the handler reads ``req.query``/``req.body``.
    - ``max_json_depth``: nesting of arrays/objects in a JSON body; deeper is 400.
    - ``max_cookie_length`` / ``max_cookies``: a Cookie header is parsed only
      as far as whole cookies fit in its first ``max_cookie_length`` bytes, and
      only its first ``max_cookies`` cookies are kept. Never an error (R22:
      cookie parsing never raises): the cookies a browser sent first, the
      oldest, such as a session, survive a flood of newer ones.
    - ``max_part_header_size``: the header block of one multipart part; larger is 400.
    - ``max_field_size``: one multipart field that is not a file, held in memory;
      larger is 413 (files go to disk instead).
    - ``spool_size``: an uploaded file is kept in memory up to this size, then on disk.
    """

    max_query_length: int = 8 * KB
    max_fields: int = 1000
    max_json_depth: int = 64
    max_cookie_length: int = 8 * KB
    max_cookies: int = 100
    max_part_header_size: int = 8 * KB
    max_field_size: int = 1 * MB
    spool_size: int = 1 * MB

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Limits.{f.name} must be a positive int, not {value!r}")


DEFAULT_LIMITS = Limits()
