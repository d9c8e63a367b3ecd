"""`python -m nextapi serve | routes | check` (R50, R51).

Exit codes: 0 fine, 1 a problem with the app or the port (a route conflict, a
broken handler, the port in use), 2 a usage problem (a bad argument, a missing
pages or api/ folder). Errors are one line on stderr; tracebacks are for
requests, not for the command line.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from . import __version__
from .app import App
from .errors import BuildError, LoadError
from .loader import load_target
from .routing import Route, scan

DEFAULT_PAGES = "pages"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000


class _Usage(Exception):
    """A one-line usage error: exit 2."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args))
    except _Usage as exc:
        _error(str(exc))
        return 2
    except BuildError as exc:
        _error(str(exc))
        return 1
    except KeyboardInterrupt:  # Ctrl-C while importing or starting: no traceback
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m nextapi",
        description="Next.js-style API routes for Python: a folder of handler files becomes a WSGI app.",
    )
    parser.add_argument("--version", action="version", version=f"nextapi {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    pages_help = f"the pages folder, holding api/ (default: ./{DEFAULT_PAGES})"

    serve = sub.add_parser(
        "serve", help="run the dev server with hot reload",
        description="Serve PAGES with a threaded dev server. Edits, new and deleted files take effect "
                    "on the next request. Not for production: use gunicorn 'nextapi:App(\"pages\")'.",
    )
    serve.add_argument("pages", nargs="?", default=DEFAULT_PAGES, metavar="PAGES", help=pages_help)
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default: {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=None,
                       help=f"port to listen on (default: $PORT, else {DEFAULT_PORT}; 0 picks a free one)")
    serve.set_defaults(run=_serve)

    routes = sub.add_parser(
        "routes", help="print the route table",
        description="Print every route (pattern, file, methods) in the order paths are matched.",
    )
    routes.add_argument("pages", nargs="?", default=DEFAULT_PAGES, metavar="PAGES", help=pages_help)
    routes.set_defaults(run=_routes)

    check = sub.add_parser(
        "check", help="import every handler and report every problem",
        description="Import every handler and middleware and report every problem: route conflicts, "
                    "import errors, modules with neither handler() nor method functions. Exit 1 if any.",
    )
    check.add_argument("pages", nargs="?", default=DEFAULT_PAGES, metavar="PAGES", help=pages_help)
    check.set_defaults(run=_check)
    return parser


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)


def _pages(path: str) -> str:
    """The pages folder, or a usage error when it or its api/ folder is missing."""
    pages = os.path.abspath(path)
    if not os.path.isdir(pages):
        raise _Usage(f"pages folder not found: {path}")
    if not os.path.isdir(os.path.join(pages, "api")):
        raise _Usage(f"no api/ folder in {path}")
    return pages


# -- serve --------------------------------------------------------------------
def _port(args: argparse.Namespace) -> int:
    if args.port is not None:
        port: int = args.port
    else:
        raw = os.environ.get("PORT", "").strip()
        if not raw:
            return DEFAULT_PORT
        if not raw.isdigit():
            raise _Usage(f"PORT must be a number, not {raw!r}")
        port = int(raw)
    if not 0 <= port <= 65535:
        raise _Usage(f"port must be from 0 to 65535, not {port}")
    return port


def _serve(args: argparse.Namespace) -> int:
    from .server import DevServer  # only `serve` needs the server

    pages = _pages(args.pages)
    port = _port(args)
    app = App(pages, dev=True)
    try:
        server = DevServer((args.host, port), app)
    except OSError as exc:
        why = "is in use" if exc.errno in _ADDR_IN_USE else f"cannot be used ({exc.strerror or exc})"
        _error(f"port {port} on {args.host} {why}")
        return 1
    if not logging.getLogger().handlers:  # handler tracebacks and warnings, on stderr
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    print(f"nextapi {__version__} dev server: {server.url}", flush=True)
    print(f"serving {args.pages} (reloads on change; Ctrl-C to stop)\n", flush=True)
    print(_table(_ordered(app.routes), methods=None, indent="  "), flush=True)

    previous = signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as cleanly as Ctrl-C
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()  # client threads are daemons: nobody is waited for
    print("stopped", flush=True)
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


_ADDR_IN_USE = {98, 48, 10048}  # EADDRINUSE on Linux, macOS, Windows


# -- routes -------------------------------------------------------------------
def _ordered(routes: list[Route]) -> list[Route]:
    """Routes in the order the trie tries them: static, then [p], [...p], [[...p]], per segment."""
    return sorted(routes, key=lambda r: [(s.kind, s.name) for s in r.segments])


def _methods(route: Route, pages: str) -> str:
    target = load_target(route.file, pages)
    return "ANY" if target.handler is not None else target.allow.replace(",", "")


def _table(routes: list[Route], methods: dict[Route, str] | None, indent: str = "") -> str:
    """Aligned rows: pattern, file and (for `routes`) methods, under a header."""
    if not routes:
        return indent + "(no routes)"
    rows = [(r.pattern, r.rel) + ((methods[r],) if methods is not None else ()) for r in routes]
    if methods is not None:
        rows.insert(0, ("PATTERN", "FILE", "METHODS"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1]
        for row in rows
    )


def _routes(args: argparse.Namespace) -> int:
    app = App(_pages(args.pages), dev=True)  # dev: build the table without importing yet
    routes = _ordered(app.routes)
    methods: dict[Route, str] = {}
    failed = 0
    for route in routes:
        try:
            methods[route] = _methods(route, app.pages_dir)
        except LoadError as exc:
            failed += 1
            methods[route] = f"! {_short(exc, app.pages_dir)}"
    print(_table(routes, methods))
    if failed:
        _error(f"{failed} file(s) failed to load; `python -m nextapi check` lists every problem")
    return 1 if failed else 0


# -- check --------------------------------------------------------------------
def _short(exc: BuildError, pages: str) -> str:
    """The message with the file path relative to the pages folder."""
    text = str(exc)
    file = getattr(exc, "file", None)
    if file and os.path.isabs(file):
        text = text.replace(file, os.path.relpath(file, pages).replace(os.sep, "/"), 1)
    return text


def _check(args: argparse.Namespace) -> int:
    pages = _pages(args.pages)
    problems = [_short(exc, pages) for exc in App.check(pages)]  # the start-up build, collecting
    routes = scan(pages, problems=[]) if os.path.isdir(os.path.join(pages, "api")) else []
    for problem in problems:
        print(f"error: {problem}")
    count = len(problems)
    summary = f"{len(routes)} route(s), {count} problem(s)" if count else f"ok: {len(routes)} route(s), no problems"
    print(summary)
    return 1 if problems else 0
