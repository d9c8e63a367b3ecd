"""The WSGI callable: environ -> Request -> route match -> middleware -> handler
-> Response -> start_response. Errors become JSON responses here, in one place.
"""
from __future__ import annotations

import functools
import itertools
import logging
import os
import sys
import threading
import traceback
from urllib.parse import unquote_to_bytes
from typing import Any, Callable, Iterable

from .body import check_length, unframed_chunked
from .errors import BuildError, HTTPError
from .limits import DEFAULT_LIMITS, Limits
from .loader import LoadError, Target, load_middleware, load_target
from .middleware import middleware_files, run_chain
from .request import Request
from .response import JSON_TYPE, Response, SerializationError, finalize
from .routing import Route, compile_routes, hidden_path, match, scan, static_table
from .static import Frontend, build_frontend

logger = logging.getLogger("nextapi")

StartResponse = Callable[..., Any]


class App:
    """A WSGI application serving `pages_dir/api/` (R1).

    Outside dev mode everything is imported and compiled here, so a broken
    file or a route conflict fails at start-up, naming the file (R5, R12).
    In dev mode handlers load on first use and reload when their file, or
    the folder tree, changes (R50).
    """

    def __init__(self, pages_dir: str | os.PathLike[str] = "pages", *, dev: bool = False,
                 limits: Limits | None = None) -> None:
        self.pages_dir = os.path.abspath(os.fspath(pages_dir))
        self.dev = dev
        self.limits = limits or DEFAULT_LIMITS  # parser limits for every request (nextapi.limits)
        if not os.path.isdir(self.pages_dir):
            raise BuildError(f"pages folder not found: {self.pages_dir}")
        project = os.path.dirname(self.pages_dir)
        if project not in sys.path:  # R11: handlers can `import lib.db`
            sys.path.insert(0, project)
        self.public_dir = os.path.join(project, "public")  # R60: public/ beside the pages folder
        self._lock = threading.RLock()
        self._middleware: dict[str, tuple[float, Any]] = {}
        self._dirs: list[str] = []  # the folders the dev reloader stats (set by _stamp)
        # Stamped before the scan, so a file added while it runs shows on the next request.
        self._tree_stamp = self._stamp() if dev else None
        self._build()

    # -- build ----------------------------------------------------------------
    def _build(self) -> None:
        routes = scan(self.pages_dir)
        root = compile_routes(routes)
        frontend = build_frontend(self.pages_dir, self.public_dir)  # R60, R61: pages and public files
        for route in routes:
            route.middleware_dirs = middleware_files(self.pages_dir, route.rel)
        if not self.dev:
            for route in routes:
                route.target = load_target(route.file)
            for path in {p for r in routes for p in r.middleware_dirs}:
                self._middleware[path] = (0.0, load_middleware(path))
        self.routes: list[Route] = routes
        self._root = root
        self._static = static_table(routes)
        self._frontend: Frontend | None = frontend

    def _stamp(self, rescan: bool = True) -> tuple[int, ...]:
        """Folder mtimes under pages/ and public/: a file added, removed or renamed changes one.

        PERF: only a rebuild walks the tree; a request stats the folders already
        known (a new subfolder changes its parent's mtime), so the check is one
        stat per folder, not a listing of every file.
        """
        if rescan:
            dirs = [self.public_dir]  # stat-ed even when missing, so creating it is seen
            for dirpath, dirnames, _ in itertools.chain(os.walk(self.pages_dir), os.walk(self.public_dir)):
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

    def _refresh(self) -> None:
        if self._stamp(rescan=False) == self._tree_stamp:
            return
        with self._lock:
            before = self._stamp()  # taken before the scan: a file added meanwhile shows next time
            if before == self._tree_stamp:
                return  # another thread rebuilt already
            old = {r.file: r for r in self.routes}
            self._build()
            self._tree_stamp = before
            for route in self.routes:  # keep modules that did not change
                prev = old.get(route.file)
                if prev is not None:
                    route.target, route.mtime = prev.target, prev.mtime

    def _target(self, route: Route) -> Target:
        """In dev mode, (re)import a handler whose file changed since last use."""
        try:
            st = os.stat(route.file)
        except OSError:
            raise HTTPError(404) from None
        mtime = (st.st_mtime_ns, st.st_size)  # the size too: two saves within one mtime tick
        if route.target is None or mtime != route.mtime:
            with self._lock:
                if route.target is None or mtime != route.mtime:
                    route.mtime = mtime
                    route.target = None
                    route.target = load_target(route.file)
        return route.target

    def _chain(self, route: Route) -> list[Any]:
        chain = []
        for path in route.middleware_dirs:
            if self.dev:
                mtime = os.stat(path).st_mtime_ns
                cached = self._middleware.get(path)
                if cached is None or cached[0] != mtime:
                    with self._lock:
                        self._middleware[path] = cached = (mtime, load_middleware(path))
            else:
                cached = self._middleware[path]
            chain.append(cached[1])
        return chain

    # -- request --------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            status, headers, body = self._respond(environ)
        except Exception as exc:  # a bug of ours: still answer, never crash the worker
            logger.exception("nextapi failed to answer %s", environ.get("PATH_INFO"))
            environ["nextapi.exception"] = exc
            status, headers, body = _plain_error(500, "Internal Server Error",
                                                 str(environ.get("REQUEST_METHOD", "GET")).upper())
        start_response(status, headers)
        return body

    def _respond(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], Iterable[bytes]]:
        method = environ["REQUEST_METHOD"].upper()
        if len(environ.get("QUERY_STRING") or "") > self.limits.max_query_length:
            return _plain_error(414, "Query string too long", method)
        try:
            path = environ.get("PATH_INFO") or "/"
            if not path.isascii():  # PERF: an ASCII path reads the same in latin-1 and UTF-8
                path = path.encode("latin-1").decode("utf-8")
        except UnicodeError:
            return _plain_error(400, "Invalid path: not UTF-8", method)
        if hidden_path(path):  # `..`, NUL, `\`, `x.py`, `.env`: never a route, never imported
            return _not_found(method)
        if self.dev:
            try:
                self._refresh()
            except BuildError as exc:  # a conflict made while serving: say which files
                logger.error("%s", exc)
                return _plain_error(500, str(exc), method, detail={"traceback": getattr(exc, "traceback", "")})
        if len(path) > 1 and path.endswith("/"):
            return self._slash_redirect(path, environ, method)

        route = self._static.get(path)  # PERF: most API paths have no parameters
        params: dict[str, Any] = {}
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
        if route is None or "%2" in raw:  # an escape that may be a slash: the raw target decides
            found = match(self._root, _segments(path, raw, environ))
            if found is None:
                if self._frontend is not None and path != "/api" and not path.startswith("/api/"):
                    return self._frontend.respond(environ, path, method)  # R60, R61: never for /api
                return _not_found(method)
            route, params = found

        res = Response()
        try:
            target = self._target(route) if self.dev else route.target
            chain = self._chain(route) if route.middleware_dirs else ()
        except LoadError as exc:  # dev only: the other routes keep working
            logger.error("%s", exc)
            return _plain_error(500, f"Error loading {exc}", method, detail={"traceback": exc.traceback})
        except HTTPError as exc:
            return _plain_error(exc.status, exc.message, method)

        config = target.config
        req = Request(environ, path, params, config, self.limits)
        try:
            if chain:
                run_chain(chain, functools.partial(_dispatch, target), req, res)
            else:
                _dispatch(target, req, res)  # PERF: no closure when no middleware wraps the route
            if not res.finished and self.dev and not config.external_resolver:
                logger.warning("API resolved without sending a response for %s, "
                               "this may result in stalled requests.", path)
        except HTTPError as exc:
            res._reset(None)  # the handler's own headers stay on an error it chose
            status = exc.status if 300 <= exc.status <= 599 else 500
            res.status(status)
            for name, value in exc.headers:
                res.set_header(name, value)
            _send_error(res, exc.message, body=exc.body)
        except Exception as exc:
            environ["nextapi.exception"] = exc
            logger.exception("Error in API route %s (%s)", path, route.rel)
            # R41: what middleware set before the handler ran (CORS, say) stays on the 500
            res._reset(res._before_handler)
            res.status(500)
            message = str(exc) if isinstance(exc, SerializationError) else "Internal Server Error"
            _send_error(res, message, _dev_detail(exc) if self.dev else None)
        return finalize(res, method, environ, etag=config.etag,
                        response_limit=config.response_limit, path=path, dev=self.dev)

    def _slash_redirect(self, path: str, environ: dict[str, Any], method: str) -> Any:
        """`/api/users/` -> 308 `/api/users`, query kept; never an off-site `//host`."""
        target = "/" + path.strip("/")
        res = Response()
        qs = environ.get("QUERY_STRING")
        res.redirect(308, f"{target}?{qs}" if qs else target)
        return finalize(res, method, environ, etag=False)


def _dispatch(target: Target, req: Request, res: Response) -> Any:
    """Pick the function for the method (R10, R14), check the body's framing, call it, send what it returned.

    The method is decided first: a 2 MB PUT to a route without `put` is a 405, not a 413.
    """
    method = req.method
    fn = target.handler
    if fn is None:
        fn = target.methods.get(method)
        if fn is None and method == "HEAD":
            fn = target.methods.get("GET")
    elif target.allowed is not None and method not in target.allowed:
        fn = None  # a handler module that declared `methods = [...]`
    if fn is None:
        if method == "OPTIONS":
            res.status(204).set_header("Allow", target.allow).end()
            return None
        raise HTTPError(405, "Method Not Allowed", headers={"Allow": target.allow})
    environ = req.environ
    config = target.config
    if config.body_parser and environ.get("CONTENT_LENGTH"):  # PERF: no length, nothing to check
        check_length(environ, config.size_limit, config.size_label)  # 413 before reading
    elif "HTTP_TRANSFER_ENCODING" in environ and unframed_chunked(environ):
        raise HTTPError(411, "Length Required")  # a body we cannot read: never dropped silently
    res._before_handler = dict(res._headers)  # R41: the headers a 500 keeps
    result = fn(req, res)
    if result is not None and result is not res and not res.finished:
        res.send(result)
    return result


def _segments(path: str, raw: str, environ: dict[str, Any]) -> list[str]:
    """Path segments for matching; an encoded slash (`%2F`) stays inside its segment.

    WSGI servers decode PATH_INFO, so `/api/p/a%2Fb` arrives as `/api/p/a/b`. When the
    server also passes the raw target (RAW_URI, REQUEST_URI) and it agrees with
    PATH_INFO, split the raw one first and decode each segment, as Next.js does.
    """
    if "%2" not in raw:  # PERF: no escape that could be a slash: split the decoded path
        return path[1:].split("/")
    raw = raw.split("?", 1)[0]
    if ("%2F" in raw or "%2f" in raw) and not environ.get("SCRIPT_NAME") and raw.startswith("/"):
        if unquote_to_bytes(raw).decode("latin-1") == environ.get("PATH_INFO"):
            return [unquote_to_bytes(seg).decode("utf-8") for seg in raw[1:].split("/")]
    return path[1:].split("/")


def _send_error(res: Response, message: str, detail: dict[str, Any] | None = None, *,
                body: Any = None) -> None:
    """The JSON error body: `{"error": message}`, or an `HTTPError`'s own `body` (R40)."""
    if body is None:
        body = {"error": message}
        if detail:
            body.update(detail)
    res.json(body)


def _dev_detail(exc: BaseException) -> dict[str, Any]:
    return {
        "exception": f"{type(exc).__name__}: {exc}",
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }


_NOT_FOUND: dict[str, tuple[str, list[tuple[str, str]], list[bytes]]] = {}


def _not_found(method: str) -> tuple[str, list[tuple[str, str]], Iterable[bytes]]:
    """The 404 for a path no route takes: the same bytes every time, so built once per method."""
    cached = _NOT_FOUND.get(method)
    if cached is None:
        cached = _plain_error(404, "Not Found", method)
        if len(_NOT_FOUND) < 32:  # PERF: cached, bounded (the client picks the method)
            _NOT_FOUND[method] = cached
    line, headers, body = cached
    return line, list(headers), list(body)  # fresh lists: a server may change what it gets


def _plain_error(status: int, message: str, method: str = "GET",
                 detail: dict[str, Any] | None = None) -> tuple[str, list[tuple[str, str]], Iterable[bytes]]:
    res = Response()
    res.status(status)
    _send_error(res, message, detail)
    return finalize(res, method, {}, etag=False)
