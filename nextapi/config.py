"""Route configuration (R13) and sizes: a module's `config` dict, checked once at load.

`parse_size` reads the sizes of `body_parser.size_limit` and `response_limit`
the way Next.js's `bytes` package does; `format_size` writes them back for
messages.
"""
from __future__ import annotations

import re

from .errors import LoadError
from .limits import Frozen

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (PERF: cold start); mypy reads the name
if TYPE_CHECKING:
    from typing import Any

DEFAULT_BODY_LIMIT = "1mb"
DEFAULT_RESPONSE_LIMIT = "4mb"
_CONFIG_KEYS = {"body_parser", "response_limit", "external_resolver", "etag"}
# Next.js spellings pasted into a Python config, and what nextapi calls them.
_NEXTJS_KEYS = {"bodyParser": "body_parser",
                "sizeLimit": "size_limit", "responseLimit": "response_limit",
                "externalResolver": "external_resolver"}
# Multipliers of the npm `bytes` package that Next.js uses: 1kb = 1024 bytes.
_UNITS = {"b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40, "pb": 1 << 50}
# PERF: a pattern string, compiled on the first size a config gives (re's cache keeps it), not at import (cold start)
_SIZE = r"[ \t]*([0-9]+(?:\.[0-9]+)?)[ \t]*([kmgtp]?b)?[ \t]*"


def parse_size(value: int | str) -> int:
    """``1048576``, ``"1mb"``, ``"500 KB"``, ``"1.5mb"`` -> bytes (floored), for config sizes."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"Invalid size {value!r}: must not be negative")
        return value
    if isinstance(value, str):
        m = re.fullmatch(_SIZE, value, re.IGNORECASE)
        if m:
            unit = (m.group(2) or "b").lower()
            # PERF: exact integer arithmetic, floored, as Fraction gave, without importing fractions
            # (and decimal) at start-up (cold start): "1.5" -> 15 * unit // 10
            whole, _, frac = m.group(1).partition(".")
            return int(whole + frac) * _UNITS[unit] // int(10 ** len(frac))
    raise ValueError(
        f"Invalid size {value!r}: use a number of bytes or a string such as '500kb' or '1mb'"
    )


def format_size(n: int) -> str:
    """4194304 -> "4MB", as the limit is named in messages."""
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return f"{n}B"


class RouteConfig(Frozen):
    """A module's `config` dict (R13), validated and with sizes parsed once."""

    _fields = ("body_parser", "size_limit", "size_label", "response_limit", "external_resolver", "etag")
    __slots__ = tuple(sorted(_fields))

    body_parser: bool
    size_limit: int
    size_label: str
    response_limit: int | None
    external_resolver: bool
    etag: bool

    # PERF: the defaults' byte counts written out (parse_size("1mb"), parse_size("4mb")), so importing
    # this module parses nothing (cold start); tests/test_cold_start.py checks they agree.
    def __init__(self, body_parser: bool = True, size_limit: int = 1 << 20,
                 size_label: str = DEFAULT_BODY_LIMIT, response_limit: int | None = 4 << 20,
                 external_resolver: bool = False, etag: bool = True) -> None:
        self._set(body_parser=body_parser, size_limit=size_limit, size_label=size_label,
                  response_limit=response_limit, external_resolver=external_resolver, etag=etag)


DEFAULT_CONFIG = RouteConfig()


def parse_config(raw: Any, path: str) -> RouteConfig:
    """Check a module's `config` once at load, so a typo is a load error naming the file."""
    if raw is None:
        return DEFAULT_CONFIG
    if not isinstance(raw, dict):
        raise LoadError(path, None, "config must be a dict")
    if isinstance(raw.get("api"), dict):  # Next.js nests them: config = {"api": {"bodyParser": ...}}
        raise LoadError(path, None, "unknown config key 'api': nextapi's config is flat, e.g. "
                        "config = {\"body_parser\": {\"size_limit\": \"1mb\"}, \"response_limit\": \"4mb\"}")
    _check_keys(raw, _CONFIG_KEYS, path, "config")
    try:
        body = raw.get("body_parser", True)
        limit_value: Any = DEFAULT_BODY_LIMIT
        if isinstance(body, dict):
            _check_keys(body, {"size_limit"}, path, "body_parser")
            limit_value = body.get("size_limit", DEFAULT_BODY_LIMIT)
            body = True
        elif not isinstance(body, bool):
            raise LoadError(path, None, "invalid config: body_parser must be True, False or {'size_limit': ...}")
        response = raw.get("response_limit", DEFAULT_RESPONSE_LIMIT)
        return RouteConfig(
            body_parser=body,
            size_limit=parse_size(limit_value),
            size_label=str(limit_value),
            response_limit=None if response is False else parse_size(response),
            external_resolver=bool(raw.get("external_resolver", False)),
            etag=bool(raw.get("etag", True)),
        )
    except ValueError as exc:
        raise LoadError(path, None, f"invalid config: {exc}") from None


def _check_keys(raw: dict[Any, Any], known: set[str], path: str, what: str) -> None:
    unknown = sorted(map(str, set(raw) - known))
    if unknown:
        hints = [f" (the Next.js spelling: use {_NEXTJS_KEYS[k]})" if k in _NEXTJS_KEYS else "" for k in unknown]
        listed = ", ".join(f"{k}{h}" for k, h in zip(unknown, hints))
        raise LoadError(path, None, f"unknown {what} key(s): {listed}")
