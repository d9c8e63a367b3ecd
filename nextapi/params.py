"""What a typed handler declares (R90–R95): where an input comes from, its constraints, and
the operation's documented success status and responses.

    from typing import Annotated
    from nextapi import Field, Header, operation

    @operation(status=201, responses={409: "Name taken"}, tags=["users"])
    def post(req, res, body: NewUser, x_request_id: Annotated[str | None, Header()] = None) -> User:
        ...

These are plain markers: nothing here runs per request.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Field:
    """Constraints and documentation for a value (JSON Schema's keywords, R91).

    `pattern` is searched, not matched, as JSON Schema does: write `^...$` to anchor it.
    """

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    multiple_of: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    description: str | None = None
    examples: Sequence[Any] | None = None

    def __post_init__(self) -> None:
        if self.pattern is not None:
            re.compile(self.pattern)  # a bad pattern fails at load, not per request
        if self.multiple_of is not None and self.multiple_of <= 0:
            raise ValueError("multiple_of must be > 0")


@dataclass(frozen=True)
class _Source:
    name: str | None = None  # the name on the wire; None: from the parameter's name
    description: str | None = None


@dataclass(frozen=True)
class Query(_Source):
    """`Annotated[T, Query("q")]`: the query key `q` (by default a parameter reads the key of its own name)."""


@dataclass(frozen=True)
class Header(_Source):
    """`Annotated[T, Header("X-Api-Key")]`: a request header (no name: the parameter's, `_` read as `-`)."""


@dataclass(frozen=True)
class Cookie(_Source):
    """`Annotated[T, Cookie("sid")]`: a cookie (no name: the parameter's)."""


@dataclass(frozen=True)
class Operation:
    """What `@operation(...)` declares about one handler or method function, for its answers and OpenAPI."""

    status: int | None = None  # the success status a returned value is sent with (default 200)
    responses: Mapping[int, str | Mapping[str, Any]] = field(default_factory=dict)  # {404: "Not found"}
    summary: str | None = None  # default: the docstring's first line
    description: str | None = None  # default: the rest of the docstring
    tags: Sequence[str] | None = None  # default: the first folder under api/
    operation_id: str | None = None
    deprecated: bool = False


NO_OPERATION = Operation()


def operation(*, status: int | None = None, responses: Mapping[int, str | Mapping[str, Any]] | None = None,
              summary: str | None = None, description: str | None = None, tags: Sequence[str] | None = None,
              operation_id: str | None = None, deprecated: bool = False) -> Callable[[F], F]:
    """Declare a handler's success status, its further documented responses and OpenAPI metadata.

    `responses` maps a status to a description, or to `{"description": ..., "model": T}` when
    that answer has a body of a known type.
    """
    if status is not None and not 200 <= status <= 299:
        raise ValueError(f"operation(status=...) is the success status: 200-299, not {status}")
    op = Operation(status, dict(responses or {}), summary, description, tuple(tags) if tags else None,
                   operation_id, deprecated)

    def mark(fn: F) -> F:
        fn.__nextapi_operation__ = op  # type: ignore[attr-defined]
        return fn

    return mark
