"""`nextapi dev | start | new | routes | check | openapi` (R50, R51, R71-R73, R95); `python -m nextapi` is the same.

Exit codes: 0 fine, 1 a problem with the app, its `.env` files or the port (a
route conflict, a broken handler, a malformed line, the port in use, no
production server installed), 2 a usage problem (a bad argument, a missing
pages or api/ folder). Errors are one line on stderr; tracebacks are for
requests, not for the command line.

DIR, for every command but `new`, is the project folder (the one holding
`pages/`) or the pages folder itself; the default is `.`, so `./pages` when it
exists. The `.env` files are read from the project folder: the folder that
holds the pages folder.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import signal
import site
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .app import App
from .env import EnvError, Mode, env_files, load_env
from .errors import BuildError, LoadError
from .loader import load_target
from .routing import Route, scan

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000
TEMPLATES = Path(__file__).resolve().parent / "templates"  # `nextapi new`: one folder per template
_RENAMES = {"gitignore": ".gitignore"}  # package data cannot hold a dotfile portably
_SUFFIX = ".tmpl"  # template files are not modules of nextapi, nor shipped as .py
_FIRST_PAGE = {"board": "/"}  # what `new` says to open first; else /api/hello


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
        prog="nextapi",
        description="Next.js-style API routes for Python: a folder of handler files becomes a WSGI app.",
    )
    parser.add_argument("--version", action="version", version=f"nextapi {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    dir_help = "the project folder (holding pages/) or the pages folder (default: ./pages if it exists, else .)"

    def add_dir(command: argparse.ArgumentParser) -> None:
        command.add_argument("dir", nargs="?", default=None, metavar="DIR", help=dir_help)

    def add_address(command: argparse.ArgumentParser) -> None:
        command.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default: {DEFAULT_HOST})")
        command.add_argument("--port", type=int, default=None,
                             help=f"port to listen on (default: $PORT, else {DEFAULT_PORT}; 0 picks a free one)")

    dev = sub.add_parser(
        "dev", aliases=["serve"], help="run the dev server with hot reload (serve is the same)",
        description="Serve DIR with a threaded dev server. Edits, new and deleted files take effect on the "
                    "next request. Reads .env.development.local, .env.local, .env.development and .env. "
                    "Not for production: use `nextapi start`.",
    )
    add_dir(dev)
    add_address(dev)
    dev.set_defaults(run=_dev)

    start = sub.add_parser(
        "start", help="run the app on a production server (gunicorn, else waitress)",
        description="Serve DIR with gunicorn when it is installed, else waitress; never the dev server. "
                    "Reads .env.production.local, .env.local, .env.production and .env. "
                    "Ctrl-C or SIGTERM stops it.",
    )
    add_dir(start)
    add_address(start)
    start.add_argument("--workers", type=int, default=None, metavar="N",
                       help="gunicorn worker processes, or waitress threads (default: 2 x CPUs + 1, "
                            f"here {default_workers()})")
    start.set_defaults(run=_start)

    new = sub.add_parser(
        "new", help="create a project from a template",
        description="Create a working project in DIR, a new or empty folder: pages/api/hello.py, a test "
                    "that uses nextapi.testing.Client, a README and a .gitignore.",
    )
    new.add_argument("dir", metavar="DIR", help="the folder to create (or an empty one)")
    new.add_argument("--template", choices=templates(), default="api",
                     help="api: the smallest API; board: a comments board, a page and its JSON API "
                          "(default: api)")
    new.set_defaults(run=_new)

    routes = sub.add_parser(
        "routes", help="print the route table",
        description="Print every route (pattern, file, methods) in the order paths are matched.",
    )
    add_dir(routes)
    routes.set_defaults(run=_routes)

    check = sub.add_parser(
        "check", help="import every handler and report every problem",
        description="Import every handler and middleware and report every problem: route conflicts, "
                    "import errors, modules with neither handler() nor method functions. Exit 1 if any.",
    )
    add_dir(check)
    check.set_defaults(run=_check)

    openapi = sub.add_parser(
        "openapi", help="print the OpenAPI 3.1 document of the API",
        description="Import every handler and print the app's OpenAPI 3.1 document (JSON): every route, "
                    "its parameters, body and responses from the declared inputs and @operation. "
                    "Reads the development .env files, as routes and check do.",
    )
    add_dir(openapi)
    openapi.add_argument("--out", metavar="FILE", default=None, help="write the document to FILE, not stdout")
    openapi.add_argument("--title", default=None, help="info.title (default: the project folder's name)")
    openapi.add_argument("--api-version", default=None, metavar="VERSION",
                         help="info.version (default: pyproject.toml's [project] version, else 0.1.0)")
    openapi.set_defaults(run=_openapi)
    return parser


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)


def _shown(path: str) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    rel = os.path.relpath(path)
    return path if rel == ".." or rel.startswith(".." + os.sep) else rel


def _locate(given: str | None) -> tuple[str, str]:
    """(project folder, pages folder) for DIR: a folder with pages/ (and no api/ of its own)
    is the project, else DIR is the pages folder and the project is the folder above it."""
    path = given if given is not None else "."
    folder = os.path.abspath(path)
    if not os.path.isdir(folder):
        raise _Usage(f"pages folder not found: {path}")
    if not os.path.isdir(os.path.join(folder, "api")) and os.path.isdir(os.path.join(folder, "pages")):
        project, pages, shown = folder, os.path.join(folder, "pages"), os.path.join(path, "pages")
    else:
        project, pages, shown = os.path.dirname(folder), folder, path
    if not os.path.isdir(os.path.join(pages, "api")):
        raise _Usage(f"no api/ folder in {shown}")
    return project, pages


def _env(project: str, mode: Mode) -> list[str]:
    """Load the mode's .env files (a malformed line is exit 1, naming file and line); their names."""
    try:
        load_env(project, mode)
    except EnvError as exc:
        raise BuildError(f"{_shown(exc.file)}:{exc.line}: {exc.reason}") from None
    return [os.path.basename(f) for f in env_files(project, mode)]


# -- dev ----------------------------------------------------------------------
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


def _port_error(exc: OSError, host: str, port: int) -> str:
    why = "is in use" if exc.errno in _ADDR_IN_USE else f"cannot be used ({exc.strerror or exc})"
    return f"port {port} on {host} {why}"


def _logging() -> None:
    if not logging.getLogger().handlers:  # handler tracebacks and warnings, on stderr
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


def _dev(args: argparse.Namespace) -> int:
    from .server import DevServer  # only `dev` needs the server

    project, pages = _locate(args.dir)
    port = _port(args)
    files = _env(project, "development")  # before any handler is imported
    app = App(pages, dev=True)
    try:
        server = DevServer((args.host, port), app)
    except OSError as exc:
        _error(_port_error(exc, args.host, port))
        return 1
    _logging()

    print(f"nextapi {__version__} dev server: {server.url}", flush=True)
    print(f"serving {_shown(pages)} (reloads on change; Ctrl-C to stop)", flush=True)
    if files:
        print(f"env: {', '.join(files)}", flush=True)
    print(flush=True)
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


# -- start --------------------------------------------------------------------
def default_workers() -> int:
    """2 x CPUs + 1, gunicorn's own advice; the CPUs this process may run on, where the OS says."""
    affinity = getattr(os, "sched_getaffinity", None)
    cpus = len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)
    return 2 * max(cpus, 1) + 1


def production_server() -> str | None:
    """"gunicorn" when it can be imported (never on Windows, where it cannot run), else
    "waitress", else None."""
    for name in ("gunicorn", "waitress"):
        if name == "gunicorn" and os.name == "nt":
            continue
        try:
            if importlib.util.find_spec(name) is not None:
                return name
        except (ImportError, ValueError):  # a broken or half-imported package: not usable
            continue
    return None


def _start(args: argparse.Namespace) -> int:
    project, pages = _locate(args.dir)
    port = _port(args)
    workers = default_workers() if args.workers is None else args.workers
    if workers < 1:
        raise _Usage(f"--workers must be 1 or more, not {workers}")
    server = production_server()
    if server is None:
        _error("nextapi start needs a production WSGI server: pip install gunicorn (or waitress)")
        return 1
    files = _env(project, "production")  # before any handler is imported
    app = App(pages)  # everything imported now: a broken handler stops here, naming the file (exit 1)
    if server == "gunicorn":
        return _gunicorn(pages, args.host, port, workers, files)
    return _waitress(app, pages, args.host, port, workers, files)


def _banner(server: str, detail: str, url: str, pages: str, files: list[str]) -> None:
    print(f"nextapi {__version__} production server: {server}, {detail}: {url}", flush=True)
    print(f"serving {_shown(pages)} (Ctrl-C to stop)", flush=True)
    if files:
        print(f"env: {', '.join(files)}", flush=True)


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _gunicorn(pages: str, host: str, port: int, workers: int, files: list[str]) -> int:
    """Become `python -m gunicorn --workers N --bind HOST:PORT nextapi.wsgi:app` (exec: one
    process, so Ctrl-C and SIGTERM reach gunicorn's arbiter directly and its exit status is
    ours). The workers build the app from $NEXTAPI_PAGES and the environment loaded here."""
    if port:
        try:  # gunicorn would retry for 5 s and then print a traceback
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
            family, kind, proto, _, address = infos[0]
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
                probe.bind(address)
        except OSError as exc:
            _error(_port_error(exc, host, port))
            return 1
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    argv = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", bind, "nextapi.wsgi:app"]
    env = dict(os.environ, NEXTAPI_PAGES=pages)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the folder holding nextapi/
    sites = {os.path.realpath(p) for p in [*site.getsitepackages(), site.getusersitepackages()]}
    if os.path.realpath(root) not in sites:  # a checkout or vendored copy: the workers import this one
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    _banner("gunicorn", f"{workers} worker{'s' if workers != 1 else ''}", _url(host, port), pages, files)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, argv, env)
    return 1  # not reached: execve replaces this process


def _waitress(app: App, pages: str, host: str, port: int, threads: int, files: list[str]) -> int:
    """waitress in this process, `threads` threads; Ctrl-C or SIGTERM stops it, exit 0."""
    waitress: Any = importlib.import_module("waitress")
    try:
        server = waitress.create_server(app, host=host, port=port, threads=threads)
    except OSError as exc:
        _error(_port_error(exc, host, port))
        return 1
    _logging()
    port = int(getattr(server, "effective_port", port))
    _banner("waitress", f"{threads} thread{'s' if threads != 1 else ''}", _url(host, port), pages, files)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.run()  # returns when a KeyboardInterrupt stops its loop
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.close()
    print("stopped", flush=True)
    return 0


# -- new ----------------------------------------------------------------------
def templates() -> list[str]:
    """The template names: the folders of nextapi/templates/."""
    if not TEMPLATES.is_dir():
        return []
    return sorted(p.name for p in TEMPLATES.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def template_files(name: str) -> dict[str, Path]:
    """{"pages/api/hello.py": its template file} for one template."""
    base = TEMPLATES / name
    files: dict[str, Path] = {}
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(base)
        if not path.is_file() or "__pycache__" in rel.parts or path.suffix in (".pyc", ".pyo"):
            continue
        parts = list(rel.parts)
        parts[-1] = parts[-1].removesuffix(_SUFFIX)
        parts[-1] = _RENAMES.get(parts[-1], parts[-1])
        files["/".join(parts)] = path
    return files


def _new(args: argparse.Namespace) -> int:
    target = os.path.abspath(args.dir)
    if os.path.exists(target) and not os.path.isdir(target):
        _error(f"{args.dir} exists and is not a folder")
        return 1
    if os.path.isdir(target) and os.listdir(target):
        _error(f"{args.dir} is not empty: nextapi new writes only into a new or empty folder")
        return 1
    files = template_files(args.template)
    name = os.path.basename(target) or "app"
    for rel, source in files.items():
        dest = os.path.join(target, *rel.split("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        data = source.read_bytes()
        if rel == "README.md":  # its title is the project's name
            data = data.replace(b"{{name}}", name.encode("utf-8"))
        with open(dest, "wb") as f:
            f.write(data)
    print(f"created {_shown(target)} from the {args.template} template:")
    for rel in sorted(files):
        print(f"  {rel}")
    print("\nnext:")
    if os.path.abspath(".") != target:
        print(f"  cd {_shown(target)}")
    print(f"  nextapi dev        # then open http://127.0.0.1:{DEFAULT_PORT}{_FIRST_PAGE.get(args.template, '/api/hello')}")
    print("  python -m pytest   # the tests in tests/")
    return 0


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
    project, pages = _locate(args.dir)
    _env(project, "development")  # a handler may read its settings at import
    app = App(pages, dev=True)  # dev: build the table without importing yet
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
        _error(f"{failed} file(s) failed to load; `nextapi check` lists every problem")
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
    project, pages = _locate(args.dir)
    _env(project, "development")  # a handler may read its settings at import
    problems = [_short(exc, pages) for exc in App.check(pages)]  # the start-up build, collecting
    routes = scan(pages, problems=[]) if os.path.isdir(os.path.join(pages, "api")) else []
    for problem in problems:
        print(f"error: {problem}")
    count = len(problems)
    summary = f"{len(routes)} route(s), {count} problem(s)" if count else f"ok: {len(routes)} route(s), no problems"
    print(summary)
    return 1 if problems else 0


# -- openapi ------------------------------------------------------------------
def _openapi(args: argparse.Namespace) -> int:
    import json

    from .openapi import document

    project, pages = _locate(args.dir)
    _env(project, "development")  # a handler may read its settings at import
    app = App(pages)  # everything imported: a broken handler is exit 1, naming the file
    doc = document(app, title=args.title, version=args.api_version)
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if args.out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return 0
    try:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        _error(f"cannot write {args.out}: {exc.strerror or exc}")
        return 1
    print(f"wrote {_shown(os.path.abspath(args.out))}: OpenAPI {doc['openapi']}, {len(doc['paths'])} path(s)",
          file=sys.stderr)
    return 0
