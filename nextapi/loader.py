"""Import handler files by path and turn each module into a dispatch Target.

Every module gets a unique name derived from its absolute path (R11), so two
`index.py` files never collide, and a load failure is a LoadError naming the
file and line, whether it is a syntax error or an exception at import time.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
import traceback
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable

from .body import parse_size
from .errors import BuildError

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD")
DEFAULT_BODY_LIMIT = "1mb"
DEFAULT_RESPONSE_LIMIT = "4mb"
_CONFIG_KEYS = {"body_parser", "response_limit", "external_resolver", "etag"}
# Next.js spellings pasted into a Python config, and what nextapi calls them.
_NEXTJS_KEYS = {"bodyParser": "body_parser",
                "sizeLimit": "size_limit", "responseLimit": "response_limit",
                "externalResolver": "external_resolver"}


class LoadError(BuildError):
    """A handler or middleware file that cannot be used, with file and line."""

    def __init__(self, file: str, line: int | None, message: str, tb: str = "") -> None:
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {message}")
        self.file, self.line, self.traceback = file, line, tb


@dataclass(frozen=True)
class RouteConfig:
    """A module's `config` dict (R13), validated and with sizes parsed once."""

    body_parser: bool = True
    size_limit: int = parse_size(DEFAULT_BODY_LIMIT)
    size_label: str = DEFAULT_BODY_LIMIT
    response_limit: int | None = parse_size(DEFAULT_RESPONSE_LIMIT)
    external_resolver: bool = False
    etag: bool = True


DEFAULT_CONFIG = RouteConfig()


@dataclass(frozen=True)
class Target:
    """What a request needs from a loaded module, precomputed once."""

    handler: Callable[..., Any] | None  # handler(req, res) for every method
    methods: dict[str, Callable[..., Any]]  # "GET" -> get(req, res)
    allow: str  # the Allow header of a 405 or an OPTIONS answer
    allowed: frozenset[str] | None  # a handler module's `methods = [...]` (HEAD with GET); None: any
    config: RouteConfig
    module: ModuleType


def module_name(path: str) -> str:
    digest = hashlib.sha1(os.path.abspath(path).encode("utf-8", "surrogatepass")).hexdigest()[:12]
    stem = re.sub(r"\W", "_", os.path.basename(path)[:-3]) or "_"
    return f"_nextapi_{digest}_{stem}"


def import_file(path: str) -> ModuleType:
    """Execute the file as a fresh module; re-importing replaces the old one."""
    name = module_name(path)
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise LoadError(path, None, "cannot be imported")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    except LoadError:
        raise
    except (Exception, SystemExit) as exc:  # sys.exit() at import is a broken file too
        sys.modules.pop(name, None)
        raise _load_error(path, exc) from exc
    return module


def _load_error(path: str, exc: BaseException) -> LoadError:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    if isinstance(exc, SyntaxError) and exc.filename:
        return LoadError(exc.filename, exc.lineno, f"{type(exc).__name__}: {exc.msg}", tb)
    line = None
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in frames:
        if os.path.abspath(frame.filename) == os.path.abspath(path):
            line = frame.lineno
    return LoadError(path, line, f"{type(exc).__name__}: {exc}", tb)


def parse_config(raw: Any, path: str) -> RouteConfig:
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
            raise ValueError("body_parser must be True, False or {'size_limit': ...}")
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


def _declared_methods(module: ModuleType, path: str) -> frozenset[str] | None:
    """A handler module's `methods = ["GET", "POST"]`, checked; None when it has none."""
    raw = getattr(module, "methods", None)
    if raw is None:
        return None
    if isinstance(raw, str) or not isinstance(raw, (list, tuple, set, frozenset)) or not all(
            isinstance(m, str) and m.upper() in METHODS for m in raw) or not raw:
        raise LoadError(path, None, f"methods must be a list of HTTP methods from {', '.join(METHODS)}, "
                        f"not {raw!r}")
    declared = {m.upper() for m in raw}
    if "GET" in declared:
        declared.add("HEAD")  # HEAD is a GET without the body
    return frozenset(declared)


def load_target(path: str) -> Target:
    """Import a handler file and check it defines handler() or method functions (R10)."""
    module = import_file(path)
    handler = getattr(module, "handler", None)
    methods = {m: fn for m in METHODS if callable(fn := getattr(module, m.lower(), None))}
    if handler is not None and not callable(handler):
        raise LoadError(path, None, "`handler` is not a function")
    if handler is not None and methods:
        both = ", ".join(m.lower() for m in methods)
        raise LoadError(path, None, f"defines both handler() and method functions ({both}); use one style")
    if handler is None and not methods:
        raise LoadError(path, None, "defines neither handler(req, res) nor a method function (get, post, ...)")
    declared = _declared_methods(module, path) if handler is not None else None
    allowed = set(methods if declared is None else declared) | {"OPTIONS"}
    if "GET" in allowed:
        allowed.add("HEAD")
    return Target(
        handler=handler,
        methods=methods,
        allow=", ".join(sorted(allowed)),
        allowed=declared,
        config=parse_config(getattr(module, "config", None), path),
        module=module,
    )


def load_middleware(path: str) -> Callable[..., Any]:
    """Import a `_middleware.py` and return its middleware(req, res, next) (R15)."""
    module = import_file(path)
    fn = getattr(module, "middleware", None)
    if not callable(fn):
        raise LoadError(path, None, "a _middleware.py must define middleware(req, res, next)")
    return fn
