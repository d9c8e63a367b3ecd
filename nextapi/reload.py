"""Dev mode (R50, R12, R74): rebuild when the folder tree changes, re-import a file when it changes.

Route and middleware files are re-imported one by one when they change. The
other Python modules of the project that handlers imported (`lib/db.py`,
`pages/api/_db.py`) are watched too: when one changes, every such module is
dropped from `sys.modules` and every route re-imported on its next request, so
the new code runs everywhere (module-level state, a connection pool say,
starts over). All of it happens in the process, under a lock, between
requests: a request already running keeps the modules it started with, and no
request is refused.

Kept out of `App` (as Werkzeug keeps its reloader out of the app): the app
picks this resolver once, in dev mode, and a production request never pays
for a stat.
"""
from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable

from .errors import HTTPError
from .loader import Target, load_middleware, load_target
from .middleware import middleware_files
from .routing import Route

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (PERF: cold start); mypy reads the name
if TYPE_CHECKING:
    from typing import TypeVar

    from ._types import Middleware
    from .app import App

    T = TypeVar("T")
FileStamp = tuple[int, int]  # (mtime_ns, size): the size too, for two saves within one mtime tick


class Reloader:
    """Stamps of the tree and of each imported file, and the modules they were taken for."""

    def __init__(self, app: App) -> None:
        import threading  # PERF: dev mode only, not at import (cold start)

        self._app = app
        self._lock = threading.RLock()
        self._dirs: list[str] = []  # the folders a request stats (set by a rescan)
        self._targets: dict[str, tuple[FileStamp, Target]] = {}  # by file: survives rebuilds
        self._middleware: dict[str, tuple[FileStamp, Middleware]] = {}
        self._chains: dict[Route, tuple[str, ...]] = {}  # middleware files per route, this build
        self._project = os.path.dirname(app.pages_dir)
        self._helpers: dict[str, tuple[str, FileStamp]] = {}  # module name -> (file, stamp) (R74)
        # Stamped before the app's first scan, so a file added while it runs shows on the next request.
        self._tree = self._stamp()

    def refresh(self) -> None:
        """Rebuild the app's tables when a folder under pages/ or public/ changed (a file added,
        removed or renamed). Raises BuildError for a conflict made while serving."""
        if self._helpers and self._helper_changed():
            self._forget_modules()
        if self._stamp(rescan=False) == self._tree:
            return
        with self._lock:
            before = self._stamp()  # taken before the scan: a file added meanwhile shows next time
            if before == self._tree:
                return  # another thread rebuilt already
            self._app._build()
            self._chains = {}
            self._tree = before

    def load(self, route: Route) -> tuple[Target, tuple[Middleware, ...]]:
        """The route's module and middleware, re-imported when their file changed since last use."""
        pages = self._app.pages_dir
        target = self._load(self._targets, route.file, lambda path: load_target(path, pages))
        files = self._chains.get(route)
        if files is None:
            files = self._chains[route] = middleware_files(self._app.pages_dir, route.rel)
        return target, tuple(self._load(self._middleware, path, lambda p: load_middleware(p, pages)) for path in files)

    def _load(self, cache: dict[str, tuple[FileStamp, T]], path: str, load: Callable[[str], T]) -> T:
        try:
            st = os.stat(path)
        except OSError:
            raise HTTPError(404) from None  # deleted since the tree was last stamped
        stamp = (st.st_mtime_ns, st.st_size)
        cached = cache.get(path)
        if cached is None or cached[0] != stamp:
            with self._lock:
                cached = cache.get(path)
                if cached is None or cached[0] != stamp:
                    cache.pop(path, None)  # a failed import is tried again on the next request
                    before = set(sys.modules)
                    try:
                        cached = cache[path] = (stamp, load(path))
                    finally:
                        self._watch(set(sys.modules) - before)
        return cached[1]

    # -- helper modules (R74) -----------------------------------------------------
    def _watch(self, names: set[str]) -> None:
        """Note the project's modules that a route's import brought in, with their stamps.

        Modules a handler imports later, inside a function, are not seen: import at the top.
        """
        loaded = set(self._targets) | set(self._middleware)
        for name in names:
            file = getattr(sys.modules.get(name), "__file__", None)
            if not isinstance(file, str) or file in loaded or not _ours(self._project, file):
                continue
            try:
                st = os.stat(file)
            except OSError:
                continue
            self._helpers[name] = (file, (st.st_mtime_ns, st.st_size))

    def _helper_changed(self) -> bool:
        for file, stamp in list(self._helpers.values()):  # a copy: another thread may add to it
            try:
                st = os.stat(file)
            except OSError:
                return True
            if (st.st_mtime_ns, st.st_size) != stamp:
                return True
        return False

    def _forget_modules(self) -> None:
        with self._lock:
            if not self._helper_changed():
                return  # another thread did it
            for name in self._helpers:
                sys.modules.pop(name, None)
            self._helpers = {}
            self._targets.clear()  # each route and middleware is imported again, with the new helpers
            self._middleware.clear()

    def _stamp(self, rescan: bool = True) -> tuple[int, ...]:
        """Folder mtimes under pages/ and public/.

        PERF: only a rebuild walks the tree; a request stats the folders already
        known (a new subfolder changes its parent's mtime), so the check is one
        stat per folder, not a listing of every file.
        """
        app = self._app
        if rescan:
            dirs = [app.public_dir]  # stat-ed even when missing, so creating it is seen
            for dirpath, dirnames, _ in itertools.chain(os.walk(app.pages_dir), os.walk(app.public_dir)):
                dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "__pycache__"]
                dirs.append(dirpath)
            self._dirs = dirs
        stamp = []
        for path in self._dirs:
            try:
                stamp.append(os.stat(path).st_mtime_ns)
            except OSError:
                stamp.append(-1)
        return tuple(stamp)


_SKIP_DIRS = frozenset(("site-packages", "dist-packages", "node_modules", "__pycache__"))
_NEXTAPI = os.path.dirname(os.path.abspath(__file__))


def _ours(project: str, file: str) -> bool:
    """A module file of the project itself: not a virtualenv or hidden folder inside it, and not
    a vendored nextapi (which must keep its one set of classes)."""
    if not file.startswith(project + os.sep) or file.startswith(_NEXTAPI + os.sep):
        return False
    parts = os.path.relpath(file, project).split(os.sep)[:-1]
    return not any(p.startswith(".") or p in _SKIP_DIRS for p in parts)
