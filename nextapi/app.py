"""The WSGI callable: environ -> Request -> route match -> middleware -> handler
-> Response -> start_response. Errors become JSON responses here, in one place.
"""
from __future__ import annotations

import functools
import os
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from types import CoroutineType

from . import instrumentation
from ._http import EXCEPTION_KEY, HTML_TYPE, unquote_to_bytes
from .body import check_length, unframed_chunked
from .config import DEFAULT_CONFIG
from .errors import BuildError, HTTPError, LoadError, logger
from .eventloop import isawaitable, run
from .frontend import Frontend, build_frontend
from .instrumentation import report
from .limits import DEFAULT_LIMITS, Limits
from .loader import Target, install_package, load_middleware, load_target
from .middleware import middleware_files, run_chain
from .request import Request, parse_networks
from .response import Response, SerializationError, error_response, finalize, send_error
from .routing import Node, Route, compile_routes, hidden_path, match, scan, static_table

# PERF: `logger` (nextapi.errors) imports logging on its first call, and the typed-routes
# modules load only for a typed handler (nextapi.loader): neither at start-up (cold start).
TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (PERF: cold start); mypy reads the name
if TYPE_CHECKING:
    from typing import Any

    from ._types import Environ, Handler, Middleware, Result, StartResponse
    from .signature import Signature

    Loaded = tuple[Target, tuple[Middleware, ...]]  # a route's module and its middleware chain

DOCS_PATHS = ("/api/openapi.json", "/api/docs")  # R96: served when docs are on and no route takes them



class App:
    """A WSGI application serving `pages_dir/api/` (R1).

    Outside dev mode everything is imported and compiled here, so a broken
    file or a route conflict fails at start-up, naming the file (R5, R12).
    In dev mode handlers load on first use and reload when their file, or
    the folder tree, changes (R50; nextapi.reload).

    `middleware` runs, outermost first, around every API request the app
    answers, matched or not (R100). `trusted_proxies` (addresses or CIDR
    ranges) are the proxies whose `X-Forwarded-For` sets `req.ip`.

    `docs` (R96): serve the OpenAPI document at `/api/openapi.json` and the docs
    page at `/api/docs`; None (the default) means on in dev mode, off otherwise.
    A route that answers either path wins (a warning names it).
    """

    def __init__(self, pages_dir: str | os.PathLike[str] = "pages", *, dev: bool = False,
                 limits: Limits | None = None, middleware: Sequence[Middleware] = (),
                 trusted_proxies: Sequence[str] = (), docs: bool | None = None) -> None:
        self.docs = dev if docs is None else bool(docs)
        self._docs_cache: dict[str, bytes] = {}  # outside dev mode, each docs answer built once
        self._setup(pages_dir, dev, limits)
        self.middleware: tuple[Middleware, ...] = tuple(middleware)
        self.trusted_proxies = parse_networks(trusted_proxies)
        self._build()
        # R107: the project's instrumentation.py; register() once per process
        self._on_error = instrumentation.load(os.path.dirname(self.pages_dir))

    @classmethod
    def check(cls, pages_dir: str | os.PathLike[str] = "pages", *, limits: Limits | None = None) -> list[BuildError]:
        """Every problem a production start-up would refuse, not only the first (`nextapi check`).

        The same build as start-up, in a mode that collects each error and goes on.
        """
        app = cls.__new__(cls)
        app.middleware, app.trusted_proxies, app._on_error = (), (), None
        app.docs, app._docs_cache = False, {}
        try:
            app._setup(pages_dir, False, limits)
        except BuildError as exc:
            return [exc]
        problems: list[BuildError] = []
        app._build(problems)
        return problems

    def _setup(self, pages_dir: str | os.PathLike[str], dev: bool, limits: Limits | None) -> None:
        self.pages_dir = os.path.abspath(os.fspath(pages_dir))
        self.dev = dev
        self.limits = limits or DEFAULT_LIMITS  # parser limits for every request (nextapi.limits)
        if not os.path.isdir(self.pages_dir):
            raise BuildError(f"pages folder not found: {self.pages_dir}")
        project = os.path.dirname(self.pages_dir)
        if project not in sys.path:  # R11: handlers can `import lib.db`
            sys.path.insert(0, project)
        install_package(self.pages_dir)  # R11: `from ._db import connect` inside the pages tree
        self.public_dir = os.path.join(project, "public")  # R60: public/ beside the pages folder
        self._loaded: dict[Route, Loaded] = {}
        # The resolver is picked once: a production request never stats a file.
        from .reload import Reloader  # PERF: dev mode only, not at import (cold start)

        self._reloader = Reloader(self) if dev else None
        self._load: Callable[[Route], Loaded] = self._reloader.load if self._reloader else self._loaded.__getitem__

    # -- build ----------------------------------------------------------------
    def _build(self, problems: list[BuildError] | None = None) -> None:
        """Scan, compile and (outside dev mode) import everything. With `problems`, each
        error is collected and the build goes on without that piece; without, the first raises."""
        routes = scan(self.pages_dir, problems=problems)
        root = compile_routes(routes, problems)
        frontend = None
        try:
            frontend = build_frontend(self.pages_dir, self.public_dir)  # R60, R61: pages and public files
        except BuildError as exc:
            _collect(exc, problems)
        if not self.dev:
            files = {route: middleware_files(self.pages_dir, route.rel) for route in routes}
            middleware: dict[str, Middleware] = {}
            for path in sorted({p for chain in files.values() for p in chain}):
                try:
                    middleware[path] = load_middleware(path, self.pages_dir)
                except LoadError as exc:
                    _collect(exc, problems)
            for route in routes:
                try:
                    target = load_target(route.file, self.pages_dir)
                except LoadError as exc:
                    _collect(exc, problems)
                    continue
                if all(p in middleware for p in files[route]):
                    self._loaded[route] = (target, tuple(middleware[p] for p in files[route]))
        if self.docs:  # R96: a route at /api/openapi.json or /api/docs wins over the docs
            for docs_path in DOCS_PATHS:
                taken = match(root, docs_path[1:].split("/"))
                if taken is not None:
                    logger.warning("%s answers %s: the app's %s is not served there", taken[0].rel, docs_path,
                                   "OpenAPI document" if docs_path.endswith(".json") else "docs page")
        self._docs_cache.clear()
        self.routes: list[Route] = routes
        self._root = root
        self._static = static_table(routes)
        self._frontend: Frontend | None = frontend
        self._max_query = self.limits.max_query_length
        # 404s known without running anything: never in dev mode (files change), nor with app middleware
        self._misses: dict[str, tuple[str, tuple[tuple[str, str], ...], tuple[bytes, ...]]] | None = (
            None if self.dev or self.middleware else {})

    def targets(self) -> list[tuple[Route, Target]]:
        """Every route with its loaded module (imported now in dev mode), for OpenAPI and tools."""
        out = []
        for route in self.routes:
            try:
                out.append((route, self._load(route)[0]))
            except (LoadError, HTTPError, KeyError):  # dev: a broken or deleted file is left out
                continue
        return out

    # -- request --------------------------------------------------------------
    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        misses = self._misses
        if misses is not None:  # PERF: a GET 404 seen before, for a path no raw spelling can match
            hit = misses.get(environ.get("PATH_INFO", ""))
            if (hit is not None and environ["REQUEST_METHOD"] == "GET"
                    and len(environ.get("QUERY_STRING", "")) <= self._max_query):
                start_response(hit[0], list(hit[1]))
                return hit[2]
        try:
            status, headers, body = self._respond(environ)
        except Exception as exc:  # a bug of ours: still answer, never crash the worker
            logger.exception("nextapi failed to answer %s", environ.get("PATH_INFO"))
            environ[EXCEPTION_KEY] = exc
            status, headers, body = error_response(500, "Internal Server Error",
                                                 str(environ.get("REQUEST_METHOD", "GET")).upper())
        start_response(status, headers)
        return body

    def _respond(self, environ: Environ) -> Result:
        method = environ["REQUEST_METHOD"].upper()
        if len(environ.get("QUERY_STRING") or "") > self._max_query:
            return error_response(414, "Query string too long", method)
        try:
            path = environ.get("PATH_INFO") or "/"
            if not path.isascii():  # PERF: an ASCII path reads the same in latin-1 and UTF-8
                path = path.encode("latin-1").decode("utf-8")
        except UnicodeError:
            return error_response(400, "Invalid path: not UTF-8", method)
        # PERF: hidden_path needs a '.', a '\\', '__' or a control character; most paths have none
        if ("." in path or "\\" in path or "__" in path or not path.isprintable()) and hidden_path(path):
            # `..`, NUL, `\`, `x.py`, `.env`: never a route, never imported
            return self._not_found(environ, path, method, True)
        if self._reloader is not None:
            try:
                self._reloader.refresh()
            except BuildError as exc:  # a conflict made while serving: say which files
                logger.error("%s", exc)
                return error_response(500, str(exc), method, detail={"traceback": getattr(exc, "traceback", "")})
        if path[-1] == "/" and len(path) > 1:
            return self._slash_redirect(path, environ, method)

        route = self._static.get(path)  # PERF: most API paths have no parameters
        params: dict[str, Any] = {}
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
        if route is None or "%2" in raw:  # an escape that may be a slash: the raw target decides
            # PERF: no escape that could be a slash (the common case): split the decoded path here
            found = match(self._root, path[1:].split("/") if "%2" not in raw else _segments(path, raw, environ))
            if found is None:
                if self.docs and path in DOCS_PATHS:  # R96: only where no route answers
                    return self._serve_docs(environ, path)
                if self._frontend is not None and path != "/api" and not path.startswith("/api/"):
                    return self._frontend.respond(environ, path, method)  # R60, R61: never for /api
                if not self.middleware:
                    return self._not_found(environ, path, method, False)
                return self._unmatched(environ, path, method)  # R100: app middleware sees the 404
            route, params = found

        try:
            target, chain = self._load(route)
        except LoadError as exc:  # dev only: the other routes keep working
            logger.error("%s", exc)
            if errorpage().prefers_html(environ):  # R75
                return _html_500(exc, method, path)
            return error_response(500, f"Error loading {exc}", method, detail={"traceback": exc.traceback})
        except HTTPError as exc:
            return error_response(exc.status, exc.message, method)

        req = Request(environ, path, params, target.config, self.limits, self.trusted_proxies, method)
        req.allow = target.allow
        if self.middleware:
            chain = self.middleware + chain
        return self._run(req, Response(), chain, None, route, target)

    def _serve_docs(self, environ: Environ, path: str) -> Result:
        """`/api/openapi.json` or `/api/docs`, through the app middleware as any API request (R96, R100)."""
        from . import docspage  # only when the docs are asked for

        req = Request(environ, path, {}, DEFAULT_CONFIG, self.limits, self.trusted_proxies)
        req.allow = "GET, HEAD, OPTIONS"
        return self._run(req, Response(), self.middleware, functools.partial(docspage.respond, self), None)

    def _unmatched(self, environ: Environ, path: str, method: str) -> Result:
        req = Request(environ, path, {}, DEFAULT_CONFIG, self.limits, self.trusted_proxies)
        return self._run(req, Response(), self.middleware, _no_route, None)

    def _not_found(self, environ: Environ, path: str, method: str, hidden: bool) -> Result:
        """The 404 for a path no route takes, remembered for later GETs when it cannot depend on
        the raw target (an encoded slash): hidden, or its first segment under `/api` names no
        route file or folder while `/api` has no [param] or catch-all (R3, R4). Bounded."""
        answer = _not_found(method)
        misses = self._misses
        key = environ.get("PATH_INFO")
        if (misses is not None and environ["REQUEST_METHOD"] == "GET" and isinstance(key, str) and len(key) <= 256
                and len(misses) < 1024 and (hidden or _dead(self._root, path))):
            misses[key] = (answer[0], tuple(answer[1]), tuple(answer[2]))
        return answer

    def _run(self, req: Request, res: Response, chain: tuple[Middleware, ...], final: Handler | None,
             route: Route | None, target: Target | None = None) -> Result:
        """The middleware chain and `final` (a route's `target` when None), every error turned
        into its response here."""
        config = req.config
        try:
            if final is not None:
                if chain:
                    run_chain(chain, final, req, res)
                elif isawaitable(result := final(req, res)):
                    run(result)
            elif target is not None:
                if chain:
                    run_chain(chain, functools.partial(_dispatch, target, self.dev), req, res)
                # PERF: a route without middleware: no partial, no chain; _dispatch's only awaitable is its own
                elif (result := _dispatch(target, self.dev, req, res)).__class__ is CoroutineType:
                    run(result)
            if self.dev and not res.finished and not config.external_resolver:
                logger.warning("API resolved without sending a response for %s, "
                               "this may result in stalled requests.", req.path)
        except HTTPError as exc:
            res._reset(None)  # the handler's own headers stay on an error it chose
            status = exc.status if 300 <= exc.status <= 599 else 500
            res.status(status)
            for name, value in exc.headers:
                res.set_header(name, value)
            send_error(res, exc.message, body=exc.body)
        except Exception as exc:
            environ, path, method = req.environ, req.path, req.method
            environ[EXCEPTION_KEY] = exc
            logger.exception("Error in API route %s (%s)", path, route.rel if route else "no route")
            if self._on_error is not None:  # R107: reported before the 500 goes out
                report(self._on_error, exc, req, {"route": route.pattern if route else None, "method": method,
                                                  "file": route.file if route else None})
            # R41: what middleware set before the handler ran (CORS, say) stays on the 500
            res._reset(res._before_handler)
            res.status(500)
            if self.dev and errorpage().prefers_html(environ):  # R75: a browser gets a page, not escaped JSON
                res.set_header("Content-Type", HTML_TYPE)
                res.send(errorpage().render(exc, method, path))
            else:
                message = str(exc) if isinstance(exc, SerializationError) else "Internal Server Error"
                send_error(res, message, _dev_detail(exc) if self.dev else None)
        return finalize(res, req.method, req.environ, config.etag, config.response_limit, req.path, self.dev)

    def _slash_redirect(self, path: str, environ: Environ, method: str) -> Result:
        """`/api/users/` -> 308 `/api/users`, query kept; never an off-site `//host`."""
        target = "/" + path.strip("/")
        res = Response()
        qs = environ.get("QUERY_STRING")
        res.redirect(308, f"{target}?{qs}" if qs else target)
        return finalize(res, method, environ, etag=False)


def _dispatch(target: Target, dev: bool, req: Request, res: Response) -> Any:
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
    # R41: the headers a 500 keeps. PERF: no copy when nothing was set (most routes have no middleware)
    res._before_handler = dict(res._headers) if res._headers else _NO_HEADERS
    sig = target.typed.get(fn) if target.typed else None  # PERF: plain (req, res) handlers skip it
    result = fn(req, res) if sig is None else fn(req, res, **sig.bind(req))  # R90-R92: 422 before it runs
    if result is None or result is res:
        return result
    # PERF: what handlers return most (a dict, a list) is never awaitable: one set lookup says so
    if result.__class__ not in _PLAIN and isawaitable(result):  # `async def`, or a sync function's awaitable (R80, R82)
        return _settle(result, res, sig, dev)
    if not res.finished:
        if sig is None:
            res.send(result)
        else:
            _send_result(result, res, sig, dev)
    return result


async def _settle(awaitable: Awaitable[Any], res: Response, sig: Signature | None, dev: bool) -> Any:
    """Await an async handler, then send what it returned, as for a sync one (R14, R80)."""
    result = await awaitable
    while isawaitable(result):
        result = await result
    if result is not None and result is not res and not res.finished:
        _send_result(result, res, sig, dev)
    return result


def _send_result(result: Any, res: Response, sig: Signature | None, dev: bool) -> None:
    """R14: send what the handler returned; R93: by its return annotation, with its declared status."""
    if sig is None:
        res.send(result)
        return
    status = sig.operation.status
    if status is not None and res.status_code == 200:
        res.status(status)
    if sig.returns is None:
        res.send(result)
    else:
        # PERF: the handler's name is for dev mode's warning only
        res.json(sig.output(result, dev, getattr(sig.fn, "__qualname__", "the handler") if dev else ""))


_PLAIN = frozenset((dict, list, str, bytes, int, float, bool, tuple))
_NO_HEADERS: dict[str, tuple[str, str | list[str]]] = {}  # shared, never changed: _reset copies it


def _no_route(req: Request, res: Response) -> None:
    raise HTTPError(404, "Not Found")


def _segments(path: str, raw: str, environ: Environ) -> list[str]:
    """Path segments for matching; an encoded slash (`%2F`) stays inside its segment.

    WSGI servers decode PATH_INFO, so `/api/p/a%2Fb` arrives as `/api/p/a/b`. When the
    server also passes the raw target (RAW_URI, REQUEST_URI) and it agrees with
    PATH_INFO, split the raw one first and decode each segment, as Next.js does.
    """
    if "%2" not in raw:  # PERF: no escape that could be a slash: split the decoded path
        return path[1:].split("/")
    raw = raw.split("?", 1)[0]
    if (("%2F" in raw or "%2f" in raw) and not environ.get("SCRIPT_NAME") and raw.startswith("/")
            and unquote_to_bytes(raw).decode("latin-1") == environ.get("PATH_INFO")):
        return [unquote_to_bytes(seg).decode("utf-8") for seg in raw[1:].split("/")]
    return path[1:].split("/")


def _html_500(exc: BaseException, method: str, path: str) -> Result:
    res = Response()
    res.status(500).set_header("Content-Type", HTML_TYPE)
    res.send(errorpage().render(exc.__cause__ or exc, method, path))
    return finalize(res, method, {}, etag=False)


def _dev_detail(exc: BaseException) -> dict[str, Any]:
    import traceback  # PERF: dev error details only, off the cold-start path

    return {
        "exception": f"{type(exc).__name__}: {exc}",
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }


_NOT_FOUND: dict[str, Result] = {}


def _not_found(method: str) -> Result:
    """The 404 for a path no route takes: the same bytes every time, so built once per method
    as the client spelled it (`get` is GET's answer too)."""
    cached = _NOT_FOUND.get(method)
    if cached is None:
        cached = error_response(404, "Not Found", method.upper())
        if len(_NOT_FOUND) < 32:  # PERF: cached, bounded (the client picks the method)
            _NOT_FOUND[method] = cached
    line, headers, body = cached
    return line, list(headers), list(body)  # fresh lists: a server may change what it gets


def _dead(root: Node, path: str) -> bool:
    """No spelling of `path` can match: its first segment is not `api`, or the one after
    `/api/` names nothing while `/api` has no [param] or catch-all child. An encoded slash
    (`%2F`) only merges segments, and no static name holds a '/'."""
    segs = path[1:].split("/", 2)
    if segs[0] != "api":
        return True  # every route is under api/
    api = root.static.get("api")
    if api is None:
        return True
    if api.param is not None or api.catchall is not None or api.optional is not None:
        return False
    return len(segs) > 1 and segs[1] not in api.static


def _collect(exc: BuildError, problems: list[BuildError] | None) -> None:
    if problems is None:
        raise exc
    problems.append(exc)


def errorpage() -> Any:
    """nextapi.errorpage, imported on the first error a dev browser may see (PERF: cold start)."""
    from . import errorpage as page

    return page
