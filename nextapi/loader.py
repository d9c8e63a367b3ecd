"""Import handler files by path and turn each module into a dispatch Target.

Every module gets a unique name derived from its absolute path (R11), so two
`index.py` files never collide, and a load failure is a LoadError naming the
file and line, whether it is a syntax error or an exception at import time.
"""
from __future__ import annotations

import os
import re
import sys
from types import FunctionType, ModuleType

from .config import RouteConfig, parse_config
from .errors import LoadError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (PERF: cold start); mypy reads the name
if TYPE_CHECKING:
    from typing import Any

    from ._types import Handler, Middleware
    from .signature import Signature

try:  # PERF: importlib.util's own two functions, from the import system already loaded (cold start)
    from _frozen_importlib import module_from_spec
    from _frozen_importlib_external import spec_from_file_location
except ImportError:  # an interpreter without CPython's frozen bootstrap
    from importlib.util import module_from_spec, spec_from_file_location

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD")


class Target:
    """What a request needs from a loaded module, precomputed once (read-only).

    `signatures` (R90-R95) is every function's Signature ("*" for handler, else the method);
    `typed` those a request must bind or convert for, by function (empty for plain (req, res)
    handlers: PERF). A typed function is compiled at load, so an annotation nextapi cannot use
    is a LoadError then (R94); a plain one only when `signatures` is first read (OpenAPI).
    """

    # PERF: a plain class, not a dataclass: `dataclasses` (and the `inspect` it imports) stays
    # off the cold-start path.
    __slots__ = ("_pending", "_signatures", "allow", "allowed", "config", "handler", "methods", "module", "typed")

    handler: Handler | None  # handler(req, res) for every method
    methods: dict[str, Handler]  # "GET" -> get(req, res)
    allow: str  # the Allow header of a 405 or an OPTIONS answer
    allowed: frozenset[str] | None  # a handler module's `methods = [...]` (HEAD with GET); None: any
    config: RouteConfig
    module: ModuleType
    typed: dict[Handler, Signature]
    _signatures: dict[str, Signature]
    _pending: tuple[dict[str, Handler], dict[str, bool], str] | None

    def __init__(self, handler: Handler | None, methods: dict[str, Handler], allow: str,
                 allowed: frozenset[str] | None, config: RouteConfig, module: ModuleType,
                 signatures: dict[str, Signature] | None = None, typed: dict[Handler, Signature] | None = None,
                 *, pending: tuple[dict[str, Handler], dict[str, bool], str] | None = None) -> None:
        put = object.__setattr__
        put(self, "handler", handler)
        put(self, "methods", methods)
        put(self, "allow", allow)
        put(self, "allowed", allowed)
        put(self, "config", config)
        put(self, "module", module)
        put(self, "typed", {} if typed is None else typed)
        put(self, "_signatures", {} if signatures is None else signatures)
        # (functions, path parameters, file) whose plain functions are compiled on first read
        put(self, "_pending", pending)

    @property
    def signatures(self) -> dict[str, Signature]:
        pending = self._pending  # read once: another thread may finish the same work meanwhile
        if pending is not None:  # PERF: plain functions compiled only when asked (OpenAPI, cold start)
            functions, params, path = pending
            done = self._signatures
            object.__setattr__(self, "_signatures", {
                key: done[key] if key in done else _compile(fn, params, path) for key, fn in functions.items()})
            object.__setattr__(self, "_pending", None)
        return self._signatures

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Target is read-only: cannot assign {name!r}")

    def __repr__(self) -> str:
        return (f"Target(handler={self.handler!r}, methods={self.methods!r}, allow={self.allow!r}, "
                f"allowed={self.allowed!r}, config={self.config!r}, module={self.module!r})")


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
        spec = spec_from_file_location(name, init, submodule_search_locations=[folder])
        if spec is not None and spec.loader is not None:
            module = module_from_spec(spec)
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
        import hashlib  # PERF: only for a file outside a pages folder, not at import (cold start)
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
        spec = spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise LoadError(path, None, "cannot be imported")
        module = module_from_spec(spec)
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
    import traceback  # PERF: only for a broken file, not at import (cold start)
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
    functions = {"*": handler} if handler is not None else dict(methods)
    params = path_params(os.path.relpath(path, pages_dir) if pages_dir else os.path.basename(path))
    # R94: what a request binds or converts is compiled now, so a bad annotation fails at load.
    signatures = {key: _compile(fn, params, path) for key, fn in functions.items() if not _plain(fn)}
    return Target(
        handler,
        methods,
        ", ".join(sorted(allowed)),
        declared,
        parse_config(getattr(module, "config", None), path),
        module,
        signatures,
        {sig.fn: sig for sig in signatures.values() if sig.typed},
        pending=(functions, params, path) if len(signatures) < len(functions) else None,
    )


def _plain(fn: Any) -> bool:
    """Is `fn` a plain `(req, res)` function, whose Signature would have no inputs, no output and
    no status? Read from its code object, without `inspect` or the typed-routes modules.

    PERF: at load, most handlers are plain; only the others pay for `nextapi.signature` (which
    brings `inspect`, `typing`'s hints and `nextapi.convert`) (cold start). Anything else
    (a partial, a callable object, a decorated function with `__wrapped__`, an `@operation`, any
    annotation, a parameter after `(req, res)`) is compiled as before.
    """
    if type(fn) is not FunctionType or fn.__dict__ or fn.__annotations__:
        return False
    code = fn.__code__
    # Fewer than two positional parameters declare nothing; else only *args/**kwargs may follow them.
    return code.co_argcount < 2 or (code.co_argcount == 2 and code.co_kwonlyargcount == 0)


def _compile(fn: Handler, params: dict[str, bool], path: str) -> Signature:
    """One function's declared inputs and output, compiled once (R94)."""
    # PERF: the typed-routes modules only for a typed handler (cold start)
    from .convert import Unsupported
    from .signature import compile_signature

    try:
        return compile_signature(fn, path_params=params, where=path)
    except Unsupported as exc:
        code = getattr(fn, "__code__", None)
        raise LoadError(path, code.co_firstlineno if code else None, str(exc)) from None


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
    middleware: Middleware = fn
    return middleware
