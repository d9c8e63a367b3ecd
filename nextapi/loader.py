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
from dataclasses import dataclass, field
from types import ModuleType
from typing import cast

from ._types import Handler, Middleware
from .config import RouteConfig, parse_config
from .convert import Unsupported
from .errors import LoadError
from .signature import Signature, compile_signature

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
    # R90-R95: every function's Signature ("*" for handler, else the method), and by function
    # those a request must bind or convert for (empty for plain (req, res) handlers: PERF).
    signatures: dict[str, Signature] = field(default_factory=dict)
    typed: dict[Handler, Signature] = field(default_factory=dict)


def install_package(pages_dir: str) -> None:
    """Make the pages folder the importable package named after it (R11), so relative
    imports inside it (`from ._db import connect`) find their files.

    The package is made explicitly, with this folder as its one path entry: the
    pages folder of another project seen earlier in this process (two test
    suites' `pages/`, say) is dropped from sys.modules with everything under it.
    """
    name = os.path.basename(pages_dir)
    existing = sys.modules.get(name)
    if existing is not None and list(getattr(existing, "__path__", ())) == [pages_dir]:
        return
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[key]
    _package(name, pages_dir)


def _package(name: str, folder: str) -> None:
    """The folder as package `name`: its own `__init__.py` when it has one, else an empty one.

    Made before Python looks, because a route file beside a folder of its name
    (`comments.py` and `comments/`) would otherwise be found as that package.
    """
    existing = sys.modules.get(name)
    if existing is not None and list(getattr(existing, "__path__", ())) == [folder]:
        return
    init = os.path.join(folder, "__init__.py")
    if os.path.isfile(init):
        spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[folder])
        if spec is not None and spec.loader is not None:
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            return
    package = ModuleType(name, f"the folder {folder} (nextapi)")
    package.__path__ = [folder]
    package.__package__ = name
    package.__file__ = None
    sys.modules[name] = package


def module_name(path: str, pages_dir: str | None = None) -> str:
    """`pages/api/comments/[id].py` -> `pages.api.comments.[id]` (R11): the folder's dotted path
    from the project folder, then the stem, so `logging.getLogger(__name__)` reads well.

    A route file beside a folder of its name (`comments.py` and `comments/`) is
    `pages.api.comments.py`: the folder keeps the package name. Outside a pages
    folder (or a name with a dot in a folder) the name is made unique from the path.
    """
    rel = os.path.relpath(path, pages_dir) if pages_dir else ""
    parts = rel[:-3].split(os.sep) if rel.endswith(".py") else []
    if not parts or rel.startswith("..") or any("." in p for p in parts):
        digest = hashlib.sha1(os.path.abspath(path).encode("utf-8", "surrogatepass")).hexdigest()[:12]
        stem = re.sub(r"\W", "_", os.path.basename(path)[:-3]) or "_"
        return f"_nextapi_{digest}_{stem}"
    name = ".".join([os.path.basename(pages_dir or ""), *parts])
    if os.path.isdir(path[:-3]):
        name += ".py"
    return name


def import_file(path: str, pages_dir: str | None = None) -> ModuleType:
    """Execute the file as a fresh module; re-importing replaces the old one."""
    name = module_name(path, pages_dir)
    try:
        if pages_dir and not name.startswith("_nextapi_"):  # the folders above it, as packages
            top = os.path.dirname(pages_dir)
            # A route file beside a folder of its name (`.py` variant) makes that folder a package too,
            # so `from .hello._n import X` inside hello.py finds hello/_n.py.
            parts = name.removesuffix(".py").split(".")[:None if name.endswith(".py") else -1]
            for depth in range(2, len(parts) + 1):
                _package(".".join(parts[:depth]), os.path.join(top, *parts[:depth]))
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise LoadError(path, None, "cannot be imported")
        module = importlib.util.module_from_spec(spec)
        if name.endswith(".py"):  # not a child of the folder of its name: its package is its own folder
            module.__package__ = name[:-3].rpartition(".")[0]
        sys.modules[name] = module
        spec.loader.exec_module(module)
    except LoadError:
        raise
    except (Exception, SystemExit) as exc:  # sys.exit() at import is a broken file too
        sys.modules.pop(name, None)
        raise load_error(path, exc) from exc
    return module


def load_error(path: str, exc: BaseException) -> LoadError:
    """The LoadError for an exception raised while importing `path`: its file and line."""
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


def load_target(path: str, pages_dir: str | None = None) -> Target:
    """Import a handler file and check it defines handler() or method functions (R10)."""
    module = import_file(path, pages_dir)
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
    # A handler module without `methods` answers them all.
    allowed = set(METHODS if handler is not None and declared is None else methods if declared is None
                  else declared) | {"OPTIONS"}
    if "GET" in allowed:
        allowed.add("HEAD")
    signatures = _signatures(handler, methods, path, pages_dir)
    return Target(
        handler=handler,
        methods=methods,
        allow=", ".join(sorted(allowed)),
        allowed=declared,
        config=parse_config(getattr(module, "config", None), path),
        module=module,
        signatures=signatures,
        typed={sig.fn: sig for sig in signatures.values() if sig.typed},
    )


def _signatures(handler: Handler | None, methods: dict[str, Handler], path: str,
                pages_dir: str | None) -> dict[str, Signature]:
    """Compile each function's declared inputs and output now, once (R94)."""
    params = path_params(os.path.relpath(path, pages_dir) if pages_dir else os.path.basename(path))
    functions = {"*": handler} if handler is not None else dict(methods)
    out = {}
    for key, fn in functions.items():
        try:
            out[key] = compile_signature(fn, path_params=params, where=path)
        except Unsupported as exc:
            code = getattr(fn, "__code__", None)
            raise LoadError(path, code.co_firstlineno if code else None, str(exc)) from None
    return out


def path_params(rel: str) -> dict[str, bool]:
    """The route parameters a file's path declares: name -> is it a catch-all (a list)?"""
    out = {}
    for part in rel.replace(os.sep, "/").removesuffix(".py").split("/"):
        if part.startswith("[[...") and part.endswith("]]"):
            out[part[5:-2]] = True
        elif part.startswith("[...") and part.endswith("]"):
            out[part[4:-1]] = True
        elif part.startswith("[") and part.endswith("]"):
            out[part[1:-1]] = False
    return out


def load_middleware(path: str, pages_dir: str | None = None) -> Middleware:
    """Import a `_middleware.py` and return its middleware(req, res, next) (R15)."""
    module = import_file(path, pages_dir)
    fn = getattr(module, "middleware", None)
    if not callable(fn):
        raise LoadError(path, None, "a _middleware.py must define middleware(req, res, next)")
    return cast(Middleware, fn)
