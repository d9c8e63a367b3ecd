"""The machinery of the hostile-request suite: a pages tree with canaries, a way
to send one row, and the five checks every row must pass.

Kept apart from the table (test_hostile.py) so a row is one line of data.
"""
from __future__ import annotations

import io
import json
import os
import re
import textwrap
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from wsgiref.validate import validator

import nextapi
from nextapi import App
from nextapi.testing import build_environ

NEXTAPI_DIR = os.path.dirname(os.path.abspath(nextapi.__file__)).encode()
MB = 1024 * 1024


# --- the pages tree ----------------------------------------------------------------

MARK = 'req.environ["hostile.ran"] = True'

ECHO = f"""
def handler(req, res):
    {MARK}
    body = req.body
    files = req.files
    cookies = req.cookies
    return {{
        "query": len(req.query),
        "cookies": len(cookies),
        "host_sid": cookies.get("__Host-sid"),
        "a": cookies.get("a"),
        "body": type(body).__name__,
        "size": len(body) if hasattr(body, "__len__") else None,
        "files": sum(len(v) if isinstance(v, list) else 1 for v in files.values()),
    }}
"""

BOOM = f"""
import datetime

class Opaque:
    pass

def handler(req, res):
    {MARK}
    k = req.query.get("k")
    q = str(req.query.get("q", ""))
    if k == "raise":
        raise RuntimeError("failed at /srv/secret/app.py with " + q)
    if k == "header-crlf":
        res.set_header("X-Echo", "a\\r\\nSet-Cookie: evil=1")
    if k == "header-nul":
        res.set_header("X-Echo", "a\\x00b")
    if k == "header-name":
        res.set_header("X-A\\r\\nX-B", "1")
    if k == "cookie-path":
        res.set_cookie("sid", "1", path="/; Domain=evil.example")
    if k == "cookie-name":
        res.set_cookie("a=b", "1")
    if k == "object":
        return {{"when": Opaque()}}
    if k == "datetime":
        return datetime.datetime(2020, 1, 1)
    if k == "nan":
        return [float("nan")]
    if k == "after-headers":
        res.set_header("X-Built", "1").status(201)
        raise ValueError(q)
    if k == "bad-status":
        res.status(1000)
    if k == "httperror-header":
        from nextapi import HTTPError
        raise HTTPError(400, "bad", headers={{"X-Evil": "a\\r\\nb"}})
    return {{"ok": True}}
"""


# The battery routes (R102, R103): a signed-cookie session, and one route per credential scheme.
SESSION_SECRET = "hostile-session-secret-0123456789abcdef"
API_TOKEN = "hostile-token-6f1d"

SESSION = f"""
from nextapi import sessions

@sessions({SESSION_SECRET!r})
def handler(req, res):
    {MARK}
    if req.query.get("k") == "big":
        req.session["blob"] = "x" * 5000
    return {{"keys": sorted(req.session)}}
"""

AUTH = f"""
import hmac
from nextapi import api_key, basic, bearer

def token_user(token):
    return "svc" if hmac.compare_digest(token.encode(), {API_TOKEN!r}.encode()) else None

def pair_user(username, password):
    ok = hmac.compare_digest(password.encode(), {API_TOKEN!r}.encode())
    return username if ok and username == "ada" else None

@SCHEME
def handler(req, res):
    {MARK}
    return {{"user": req.user}}
"""


def canary(marker_dir: Path, name: str, middleware: bool = False) -> str:
    """A module that records its own import: it must never run."""
    body = "def middleware(req, res, next):\n    return next()\n" if middleware else \
        "def handler(req, res):\n    return {'canary': True}\n"
    return f"open({str(marker_dir / name)!r}, 'w').close()\n" + body


def build_tree(base: Path) -> tuple[Path, Path]:
    """Write the pages tree; return (pages folder, canary marker folder)."""
    pages, markers, outside = base / "pages", base / "markers", base / "outside"
    for d in (pages / "api", markers, outside):
        d.mkdir(parents=True, exist_ok=True)
    files = {
        "api/ok.py": f"def handler(req, res):\n    {MARK}\n    return {{'ok': True}}\n",
        "api/echo.py": ECHO,
        "api/boom.py": BOOM,
        "api/big.py": ECHO + '\nconfig = {"body_parser": {"size_limit": "3mb"}}\n',
        "api/items/[id].py": f"def get(req, res):\n    {MARK}\n    return {{'id': len(req.query['id'])}}\n",
        "api/files/[...path].py": f"def get(req, res):\n    {MARK}\n    return {{'n': len(req.query['path'])}}\n",
        "api/methods.py": f"def get(req, res):\n    {MARK}\n    return {{'m': 'get'}}\n"
                          f"def post(req, res):\n    {MARK}\n    return {{'m': 'post'}}\n",
        "api/sub/page.py": f"def handler(req, res):\n    {MARK}\n    return {{'sub': True}}\n",
        "api/ip.py": f"def handler(req, res):\n    {MARK}\n    return {{'ip': req.ip}}\n",
        "api/mirror.py": f"def handler(req, res):\n    {MARK}\n    return req.body\n",
        "api/whoami.py": f"def handler(req, res):\n    {MARK}\n    return {{'user': req.headers.get('x-auth-user')}}\n",
        "api/session.py": SESSION,
        "api/auth/bearer.py": AUTH.replace("SCHEME", "bearer(token_user)"),
        "api/auth/basic.py": AUTH.replace("SCHEME", "basic(pair_user)"),
        "api/auth/key.py": AUTH.replace("SCHEME", "api_key(token_user)"),
        # cors(): preflights are answered by the middleware, the handler never runs
        "api/cors/_middleware.py": "from nextapi import cors\nmiddleware = cors(['https://app.example'])\n",
        "api/cors/item.py": f"def get(req, res):\n    {MARK}\n    return {{'ok': True}}\n"
                            f"def post(req, res):\n    {MARK}\n    return {{'ok': True}}\n",
        "api/_private.py": canary(markers, "private"),
        "api/.hidden.py": canary(markers, "hidden"),
        "api/__pycache__/cached.py": canary(markers, "pycache"),
        "api/_lib/helper.py": canary(markers, "lib"),
        "api/data.json": '{"secret": true}',
    }
    for rel, src in files.items():
        path = pages / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(src), encoding="utf-8")
    (outside / "escape.py").write_text(canary(markers, "escape"))
    (outside / "linked").mkdir(exist_ok=True)
    (outside / "linked" / "inner.py").write_text(canary(markers, "linked"))
    (outside / "mw.py").write_text(canary(markers, "middleware", middleware=True))
    os.symlink(outside / "escape.py", pages / "api" / "escape.py")
    os.symlink(outside / "linked", pages / "api" / "linked")
    os.symlink(outside / "mw.py", pages / "api" / "sub" / "_middleware.py")
    return pages, markers


# --- one row ---------------------------------------------------------------------

AUTO: Any = object()


@dataclass
class Row:
    """One hostile request and what must come back.

    ``path`` is the request target's path as on the wire (%-escapes are decoded
    into PATH_INFO as a server does); ``path_info`` overrides that with a raw
    PEP 3333 string. ``before_handler`` rows must be refused before any handler
    or middleware runs and before a byte of input is read. ``raw`` rows carry
    a Content-Length that wsgiref.validate itself would choke on (it asserts
    ``int(CONTENT_LENGTH) >= 0``), so they go through ``strict_call`` instead.
    """

    id: str
    status: int
    path: str = "/api/echo"
    method: str = "GET"
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    content_length: Any = AUTO  # AUTO: len(body) when there is a body; None: leave it out
    chunked: bool = False
    path_info: str | None = None
    before_handler: bool = False
    max_read: int | None = None  # bytes the app may read at most
    needles: tuple[bytes, ...] = ()  # hostile fragments the answer must not echo
    raw: bool = False
    error: str | None = None  # the exact {"error": ...} expected, when it matters
    check: Callable[[Result], None] | None = None
    modes: tuple[str, ...] = ("prod",)
    unknown_method: bool = False  # a method wsgiref.validate warns about (PROPFIND, ...)


class CountingInput(io.BytesIO):
    """wsgi.input that counts what the app read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size: int = -1) -> bytes:
        line = super().readline(size)
        self.bytes_read += len(line)
        return line


@dataclass
class Result:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    environ: dict[str, Any]
    stream: CountingInput

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def json(self) -> Any:
        return json.loads(self.body)


def environ_for(row: Row) -> dict[str, Any]:
    """The test client's environ for the row, with a counting input and the row's framing."""
    env = build_environ(row.method, row.path, row.query, row.headers)
    if row.path_info is not None:
        env["PATH_INFO"] = row.path_info
    env["wsgi.input"] = CountingInput(row.body or b"")
    length = row.content_length
    if length is AUTO:
        length = None if row.body is None or row.chunked else str(len(row.body))
    if length is not None:
        env["CONTENT_LENGTH"] = length
    if row.chunked:
        env["wsgi.input_terminated"] = True
    return env


def send(app: App, row: Row) -> Result:
    env = environ_for(row)
    stream = env["wsgi.input"]
    call = strict_call if row.raw else validated_call
    with warnings.catch_warnings():
        if row.unknown_method:  # validate warns about any method outside RFC 9110's list
            warnings.filterwarnings("ignore", message="Unknown REQUEST_METHOD")
        status, headers, body = call(app, env)
    return Result(status, headers, body, env, stream)


def validated_call(app: Any, env: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """Through wsgiref.validate: any PEP 3333 slip is an AssertionError (or a WSGIWarning error)."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return lambda data: None

    result = validator(app)(env, start_response)
    try:
        body = b"".join(result)
    finally:
        result.close()
    return int(started[0][:3]), started[1], body


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_STATUS = re.compile(r"[1-5][0-9][0-9] [^\x00-\x1f\x7f]+\Z")


def strict_call(app: Any, env: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """The rules of wsgiref.validate that concern the answer, for rows it cannot take."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        assert not started, "start_response called twice"
        assert type(status) is str and _STATUS.match(status), status
        assert type(headers) is list
        for item in headers:
            assert type(item) is tuple and len(item) == 2
            name, value = item
            assert type(name) is str and _TOKEN.match(name), name
            assert name.lower() != "status"
            assert type(value) is str and not re.search(r"[\x00-\x1f\x7f]", value), value
            value.encode("latin-1")
        started[:] = [status, headers]
        return lambda data: None

    result = app(env, start_response)
    chunks = []
    try:
        for chunk in result:
            assert started, "body before start_response"
            assert type(chunk) is bytes
            chunks.append(chunk)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    assert started, "start_response never called"
    return int(started[0][:3]), started[1], b"".join(chunks)


# --- the five checks ------------------------------------------------------------------

def check_row(app: App, row: Row, res: Result, markers: Path, secrets: list[bytes]) -> None:
    # 1. It answered (send() did not raise) and passed wsgiref.validate or strict_call.
    # 2. The expected status, and an exact Content-Length.
    assert res.status == row.status, (res.status, res.body[:300])
    if res.status == 500:
        assert row.status == 500
    elif "nextapi.exception" in res.environ:
        raise AssertionError(f"an exception was recorded: {res.environ['nextapi.exception']!r}")
    length = res.header("Content-Length")
    if row.method == "HEAD":
        assert res.body == b"", "HEAD with a body"
    elif length is not None:
        assert int(length) == len(res.body), (length, len(res.body))
    if res.status >= 400 and row.method != "HEAD":
        assert res.header("Content-Type", ).startswith("application/json")
        err = res.json()
        assert list(err) == ["error"] and isinstance(err["error"], str), err
        if row.error is not None:
            assert err["error"] == row.error, err
    # 3. No traceback, file path or echo of the hostile input in the body.
    body = res.body
    for bad in (b"Traceback", b'File "', b".py\"", NEXTAPI_DIR, *secrets, *row.needles):
        assert bad not in body, f"{bad!r} leaked into {body[:300]!r}"
    # 4. Refused before the handler: it did not run, and nothing was read.
    if row.before_handler:
        assert "hostile.ran" not in res.environ, "the handler ran"
        assert res.stream.bytes_read == 0, f"{res.stream.bytes_read} bytes were read"
    if row.max_read is not None:
        assert res.stream.bytes_read <= row.max_read, res.stream.bytes_read
    # Never import what is hidden.
    assert not any(markers.iterdir()), f"imported: {sorted(p.name for p in markers.iterdir())}"
    if row.check is not None:
        row.check(res)
    # 5. A normal request afterwards still answers 200.
    after = send(app, Row("after", 200, path="/api/ok"))
    assert after.status == 200 and after.json() == {"ok": True}
