"""Dev mode (R50, R12): rebuild when the folder tree changes, re-import a file when it changes.

Kept out of `App` (as Werkzeug keeps its reloader out of the app): the app
picks this resolver once, in dev mode, and a production request never pays
for a stat.
"""
from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ._types import Middleware
from .errors import HTTPError
from .loader import Target, load_middleware, load_target
from .middleware import middleware_files
from .routing import Route

if TYPE_CHECKING:
    from .app import App

T = TypeVar("T")
FileStamp = tuple[int, int]  # (mtime_ns, size): the size too, for two saves within one mtime tick


class Reloader:
    """Stamps of the tree and of each imported file, and the modules they were taken for."""

    def __init__(self, app: App) -> None:
        self._app = app
        self._lock = threading.RLock()
        self._dirs: list[str] = []  # the folders a request stats (set by a rescan)
        self._targets: dict[str, tuple[FileStamp, Target]] = {}  # by file: survives rebuilds
        self._middleware: dict[str, tuple[FileStamp, Middleware]] = {}
        self._chains: dict[Route, tuple[str, ...]] = {}  # middleware files per route, this build
        # Stamped before the app's first scan, so a file added while it runs shows on the next request.
        self._tree = self._stamp()

    def refresh(self) -> None:
        """Rebuild the app's tables when a folder under pages/ or public/ changed (a file added,
        removed or renamed). Raises BuildError for a conflict made while serving."""
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
                    cached = cache[path] = (stamp, load(path))
        return cached[1]

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
