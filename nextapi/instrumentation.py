"""`instrumentation.py` in the project folder (R107), as Next.js has `instrumentation.ts`.

Both functions are optional. `register()` runs once per process, when the
first app of that project is built (a second `App` in the same process does
not run it again): the place to set up tracing or metrics. `on_request_error(
error, req, context)` is called for every unexpected exception, before its
500 is sent, with `context` = {"route": pattern, "method": ..., "file": ...};
an exception inside it is logged and ignored, so reporting never breaks a
response.
"""
from __future__ import annotations

import os
import sys
from _thread import allocate_lock
from collections.abc import Callable
from types import ModuleType

from .errors import LoadError, logger
from .eventloop import isawaitable, run
from .loader import load_error

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (PERF: cold start); mypy reads the name
if TYPE_CHECKING:
    from typing import Any

try:  # PERF: importlib.util's own two functions, from the import system already loaded (cold start)
    from _frozen_importlib import module_from_spec
    from _frozen_importlib_external import spec_from_file_location
except ImportError:  # an interpreter without CPython's frozen bootstrap
    from importlib.util import module_from_spec, spec_from_file_location

FILE = "instrumentation.py"
_lock = allocate_lock()  # threading.Lock itself; PERF: without importing threading (cold start)
_loaded: dict[str, ModuleType] = {}  # realpath -> module: registered once per process


def load(project_dir: str) -> Callable[..., Any] | None:
    """Import the project's instrumentation.py (running `register()` the first time); its
    `on_request_error`, or None. A broken file is a LoadError naming file and line."""
    path = os.path.join(project_dir, FILE)
    if not os.path.isfile(path):
        return None
    real = os.path.realpath(path)
    with _lock:
        module = _loaded.get(real)
        if module is None:
            module = _import(path)
            register = getattr(module, "register", None)
            if callable(register):
                try:
                    result = register()
                    if isawaitable(result):
                        run(result)
                except Exception as exc:
                    raise load_error(path, exc) from exc
            _loaded[real] = module
    hook = getattr(module, "on_request_error", None)
    return hook if callable(hook) else None


def _import(path: str) -> ModuleType:
    name = "instrumentation"
    spec = spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LoadError(path, None, "cannot be imported")
    module = module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        sys.modules.pop(name, None)
        raise load_error(path, exc) from exc
    return module


def report(hook: Callable[..., Any], error: BaseException, req: Any, context: dict[str, Any]) -> None:
    """Call on_request_error; whatever it does, the 500 still goes out."""
    try:
        result = hook(error, req, context)
        if isawaitable(result):
            run(result)
    except Exception:
        logger.exception("instrumentation.on_request_error failed")
