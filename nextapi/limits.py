"""Limits on what a request may make the app parse, with documented defaults.

One frozen object per App (``App(pages, limits=Limits(max_fields=5000))``) so a
hostile request costs bounded time and memory everywhere, whatever the route.
The body size itself is per route (``config["body_parser"]["size_limit"]``,
R13, 1 MB by default), as in Next.js.
"""
from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (PERF: cold start); mypy reads the name
if TYPE_CHECKING:
    from typing import Any, ClassVar

KB = 1024
MB = 1024 * KB


class Frozen:
    """What `@dataclass(frozen=True)` gives a record of fields (read-only, compared, hashed and
    shown by value), for the classes named in `__slots__` (Limits, RouteConfig).

    PERF: a plain class, not a dataclass: `dataclasses` imports `inspect`, and both are kept off
    the cold-start path (issue 15).
    """

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()  # the fields in their declared order

    def _set(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")  # as a frozen dataclass's FrozenInstanceError

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __reduce__(self) -> tuple[Any, ...]:  # pickle and copy: the constructor, given the values
        return (self.__class__, self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__qualname__}({shown})"


class Limits(Frozen):
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

    _fields = ("max_query_length", "max_fields", "max_json_depth", "max_cookie_length", "max_cookies",
               "max_part_header_size", "max_field_size", "spool_size")
    __slots__ = tuple(sorted(_fields))

    max_query_length: int
    max_fields: int
    max_json_depth: int
    max_cookie_length: int
    max_cookies: int
    max_part_header_size: int
    max_field_size: int
    spool_size: int

    def __init__(self, max_query_length: int = 8 * KB, max_fields: int = 1000, max_json_depth: int = 64,
                 max_cookie_length: int = 8 * KB, max_cookies: int = 100, max_part_header_size: int = 8 * KB,
                 max_field_size: int = 1 * MB, spool_size: int = 1 * MB) -> None:
        self._set(max_query_length=max_query_length, max_fields=max_fields, max_json_depth=max_json_depth,
                  max_cookie_length=max_cookie_length, max_cookies=max_cookies,
                  max_part_header_size=max_part_header_size, max_field_size=max_field_size, spool_size=spool_size)
        for name in self._fields:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Limits.{name} must be a positive int, not {value!r}")


DEFAULT_LIMITS = Limits()
