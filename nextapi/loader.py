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
from typing import cast

from ._types import Handler, Middleware
from .config import RouteConfig, parse_config
from .errors import LoadError

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD")


@dataclass(frozen=True)
class Target:
    """What a request needs from a loaded module, precomputed once."""

    handler: Handler | None  # handler(req, res) for every method
    methods: dict[str, Handler]  # "GET" -> get(req, res)
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


def load_middleware(path: str) -> Middleware:
    """Import a `_middleware.py` and return its middleware(req, res, next) (R15)."""
    module = import_file(path)
    fn = getattr(module, "middleware", None)
    if not callable(fn):
        raise LoadError(path, None, "a _middleware.py must define middleware(req, res, next)")
    return cast(Middleware, fn)
