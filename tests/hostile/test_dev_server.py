"""Hostile requests against the dev server (R50), byte for byte over a socket.

The same five checks as test_hostile.py, over the wire: the dev server runs
in-process on 127.0.0.1 around ``wsgiref.validate(recorder(app))`` (minus
the validator for a non-digit Content-Length, see Catcher), where the
recorder counts what the app read from ``wsgi.input`` and notes whether a
handler ran. So each row checks that (1) it got an answer and nothing
raised, validation included; (2) the expected status with an exact
Content-Length; (3) no traceback, path or echo of the request in the body;
(4) when refused before the handler, no handler ran and nothing was read;
(5) a normal request afterwards answers 200. On top of those, no row may
run the request hidden in its body (SMUGGLED): a framing the server cannot
be sure of is refused, with `Connection: close`, before any handler runs.
"""
from __future__ import annotations

import http.client
import io
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from wsgiref.validate import validator

import pytest

from nextapi import App
from nextapi.server import DevRequestHandler, DevServer
from tests.hostile.hostile_harness import NEXTAPI_DIR, build_tree

MB = 1024 * 1024
IDLE = 1.0  # the handler's socket timeout for this module (30 s in real use)


@dataclass
class Wire:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def parse_response(data: bytes, head_request: bool = False) -> Wire:
    head, sep, rest = data.partition(b"\r\n\r\n")
    assert sep, f"no complete answer: {data[:200]!r}"
    lines = head.decode("latin-1").split("\r\n")
    version, code, reason = (lines[0].split(" ", 2) + [""])[:3]
    assert version == "HTTP/1.1" and code.isdigit(), lines[0]
    headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:]]
    wire = Wire(int(code), reason, headers, b"")  # type: ignore[arg-type]
    if head_request or wire.status in (204, 304):
        wire.body = b""
    elif (wire.header("Transfer-Encoding") or "").lower() == "chunked":
        body = b""
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            body, rest = body + rest[:size], rest[size + 2:]
        wire.body = body
    else:
        length = wire.header("Content-Length")
        assert length is not None, "neither Content-Length nor chunked"
        assert len(rest) >= int(length), (length, len(rest))
        wire.body = rest[:int(length)]
        assert rest[int(length):] == b"", "bytes after the body"
    return wire


def exchange(port: int, raw: bytes, timeout: float = 10.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    return data


class Recorder:
    """Inside wsgiref.validate: counts input bytes the app read; notes handler runs."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.calls: list[tuple[dict[str, Any], Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        counter = _Counting(environ["wsgi.input"])
        environ["wsgi.input"] = counter
        self.calls.append((environ, counter))
        return self.app(environ, start_response)


class _Counting:
    def __init__(self, inner: Any) -> None:
        self.inner, self.bytes_read = inner, 0

    def read(self, *args: Any) -> bytes:
        data = self.inner.read(*args)
        self.bytes_read += len(data)
        return data

    def readline(self, *args: Any) -> bytes:
        data = self.inner.readline(*args)
        self.bytes_read += len(data)
        return data

    def readlines(self, *args: Any) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self) -> Any:
        return iter(self.readline, b"")


class Catcher:
    """Outside wsgiref.validate: any exception it raises fails the row.

    wsgiref.validate asserts ``int(CONTENT_LENGTH) >= 0`` itself, so a request
    whose Content-Length is not plain digits (``+2``, ``-1``) goes straight to
    the recorder; parse_response still checks what came back on the wire.
    """

    def __init__(self, recorder: Any) -> None:
        self.validated, self.plain, self.errors = validator(recorder), recorder, []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        length = environ.get("CONTENT_LENGTH", "")
        # `²` is isdigit() and 5000 digits are past int()'s limit: validate would raise on both.
        plain_int = length.isascii() and length.isdigit() and len(length) < 20
        app = self.validated if not length or plain_int else self.plain
        try:
            return app(environ, start_response)
        except BaseException as exc:
            self.errors.append(exc)
            raise


def req(method: str, target: str, *headers: str, body: bytes = b"", close: bool = True) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", *headers]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class DevRow:
    id: str
    raw: bytes
    status: int
    before_handler: bool = False
    needles: tuple[bytes, ...] = ()
    check: Callable[[Wire], None] | None = None
    head: bool = False
    slow_client: bytes | None = None  # a connection left half-sent while this row is served


def user(expected: str | None):
    def check(w: Wire) -> None:
        assert json.loads(w.body) == {"user": expected}, w.body
    return check


def app_error(message: str):
    def check(w: Wire) -> None:
        assert json.loads(w.body) == {"error": message}, w.body
    return check


def json_error(w: Wire) -> None:
    assert w.header("Content-Type") == "application/json; charset=utf-8", w.headers
    err = json.loads(w.body)
    assert list(err) == ["error"] and err["error"] == w.reason, (err, w.reason)


def closes(w: Wire) -> None:
    connection = [v for k, v in w.headers if k.lower() == "connection"]
    assert connection == ["close"], w.headers


def refused(w: Wire) -> None:
    """The server's own 400 before any handler, and the connection is not reused."""
    json_error(w)
    closes(w)


def location(expected: str):
    def check(w: Wire) -> None:
        assert w.header("Location") == expected, w.headers
    return check


EVIL = "zq9evil"  # a token that must never come back, escaped or not
JSON_H = "Content-Type: application/json"
# A request hidden in a body: it runs only if the server misreads where that body ends.
SMUGGLED = b"GET /api/ok?smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
AFTER_END = b"0\r\n\r\n" + SMUGGLED  # runs if the body is taken as chunked (and the connection kept)
AS_CHUNK = b"%x\r\n%s\r\n0\r\n\r\n" % (len(SMUGGLED), SMUGGLED)  # the body, read as chunked


def smuggle(*headers: str, body: bytes = AFTER_END, version: str = "1.1") -> bytes:
    """A keep-alive POST whose framing headers are given as raw lines (obs-fold, bare CR...)."""
    lines = [f"POST /api/echo HTTP/{version}", "Host: 127.0.0.1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def echoed(size: int):
    def check(w: Wire) -> None:
        assert json.loads(w.body)["size"] == size, w.body
    return check


DEV_ROWS = [
    DevRow("request-line-over-64kb", b"GET /api/ok?" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414,
           before_handler=True, check=json_error, needles=(b"aaaa",)),
    DevRow("header-line-over-64kb", req("GET", "/api/ok", f"X-Big: {EVIL}" + "a" * 70_000), 431,
           before_handler=True, check=json_error, needles=(EVIL.encode(),)),
    DevRow("over-100-headers", req("GET", "/api/ok", *[f"X-H{i}: {EVIL}" for i in range(101)]), 431,
           before_handler=True, check=json_error, needles=(EVIL.encode(),)),
    DevRow("underscore-header-dropped", req("GET", "/api/whoami", "X-Auth_User: admin"), 200,
           check=user(None)),
    DevRow("underscore-header-cannot-shadow", req("GET", "/api/whoami", "X-Auth_User: evil", "X-Auth-User: real"),
           200, check=user("real")),
    DevRow("underscore-header-after-real", req("GET", "/api/whoami", "X-Auth-User: real", "X-Auth_User: evil"),
           200, check=user("real")),
    DevRow("bad-http-version", f"GET /api/ok HTTP/{EVIL}\r\nHost: x\r\n\r\n".encode(), 400, before_handler=True,
           check=json_error, needles=(EVIL.encode(),)),
    DevRow("garbage-request-line", f"<script>{EVIL}</script>\r\n\r\n".encode(), 400, before_handler=True,
           check=json_error, needles=(EVIL.encode(), b"script")),
    DevRow("extra-words-in-request-line", f"GET /api/ok HTTP/1.1 {EVIL}\r\nHost: x\r\n\r\n".encode(), 400,
           before_handler=True, check=json_error, needles=(EVIL.encode(),)),
    DevRow("http-0.9", b"GET /api/ok\r\n\r\n", 400, before_handler=True, check=json_error),
    DevRow("http2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, before_handler=True, check=json_error),
    DevRow("conflicting-content-lengths", req("POST", "/api/echo", JSON_H, "Content-Length: 2",
                                                "Content-Length: 3", body=b"{}"), 400,
           before_handler=True, check=json_error),
    DevRow("content-length-plus", req("POST", "/api/echo", JSON_H, "Content-Length: +2", body=b"{}"), 400,
           before_handler=True, check=app_error("Invalid Content-Length")),
    DevRow("content-length-negative", req("POST", "/api/echo", JSON_H, "Content-Length: -1", body=b"{}"), 400,
           before_handler=True, check=app_error("Invalid Content-Length")),
    DevRow("transfer-encoding-gzip", req("POST", "/api/echo", "Transfer-Encoding: gzip", body=b"x"), 400,
           before_handler=True, check=refused),
    DevRow("chunked-and-content-length", req("POST", "/api/echo", JSON_H, "Content-Length: 50",
                                             "Transfer-Encoding: chunked", body=b"2\r\n{}\r\n0\r\n\r\n"), 400,
           before_handler=True, check=refused),
    # Request smuggling: every Transfer-Encoding but a clean `chunked` is refused (module docstring).
    DevRow("te-tab-then-content-length", smuggle("Transfer-Encoding:\tchunked", f"Content-Length: {len(AFTER_END)}"),
           400, before_handler=True, check=refused),
    DevRow("te-vertical-tab-before", smuggle("Transfer-Encoding: \x0bchunked"), 400, before_handler=True,
           check=refused),
    DevRow("te-vertical-tab-after", smuggle("Transfer-Encoding: chunked\x0b"), 400, before_handler=True,
           check=refused),
    DevRow("te-trailing-garbage", smuggle("Transfer-Encoding: chunked x"), 400, before_handler=True, check=refused),
    DevRow("te-chunked-twice", smuggle("Transfer-Encoding: chunked, chunked"), 400, before_handler=True,
           check=refused),
    DevRow("te-identity-then-chunked", smuggle("Transfer-Encoding: identity, chunked"), 400, before_handler=True,
           check=refused),
    DevRow("te-two-header-lines", smuggle("Transfer-Encoding: chunked", "Transfer-Encoding: chunked"), 400,
           before_handler=True, check=refused),
    DevRow("te-obs-fold", smuggle("Transfer-Encoding:", " chunked"), 400, before_handler=True, check=refused),
    DevRow("te-obs-fold-after-garbage", smuggle("Transfer-Encoding: x", "\tchunked"), 400, before_handler=True,
           check=refused),
    DevRow("obs-fold-hides-te", smuggle("X-Pad: a", " Transfer-Encoding: chunked", body=SMUGGLED), 400,
           before_handler=True, check=refused),
    DevRow("te-bare-cr-in-other-header", smuggle("X-Pad: a\rTransfer-Encoding: chunked"), 400,
           before_handler=True, check=refused),
    DevRow("te-space-before-colon", smuggle("Transfer-Encoding : chunked", body=SMUGGLED), 400,
           before_handler=True, check=refused),
    DevRow("te-in-http-1.0", smuggle("Transfer-Encoding: chunked", "Connection: keep-alive", version="1.0"), 400,
           before_handler=True, check=refused),
    DevRow("no-100-continue-before-refusal", smuggle("Expect: 100-continue", "Transfer-Encoding: gzip", body=b""),
           400, before_handler=True, check=refused),
    DevRow("te-tab-is-chunked", smuggle("Transfer-Encoding:\tchunked", body=AS_CHUNK), 200,
           check=echoed(len(SMUGGLED))),
    DevRow("te-any-case-is-chunked", smuggle("Transfer-Encoding: ChunKED \t", body=AS_CHUNK), 200,
           check=echoed(len(SMUGGLED))),
    DevRow("content-length-superscript-digit", req("POST", "/api/echo", "Content-Length: \u00b2", body=b"{}"), 400,
           before_handler=True, check=app_error("Invalid Content-Length")),
    DevRow("content-length-5000-digits", req("POST", "/api/echo", "Content-Length: " + "9" * 5000), 413,
           before_handler=True, check=app_error("Body exceeded 1mb limit")),
    DevRow("malformed-chunk-size", req("POST", "/api/echo", JSON_H, "Transfer-Encoding: chunked",
                                       body=f"{EVIL}\r\n{{}}\r\n0\r\n\r\n".encode()), 400,
           check=app_error("Invalid body"), needles=(EVIL.encode(),)),
    DevRow("chunk-size-leading-space", req("POST", "/api/echo", JSON_H, "Transfer-Encoding: chunked",
                                           body=b" 2\r\n{}\r\n0\r\n\r\n"), 400,
           check=app_error("Invalid body")),
    DevRow("chunk-data-without-crlf", req("POST", "/api/echo", JSON_H, "Transfer-Encoding: chunked",
                                          body=b"2\r\n{}X\n0\r\n\r\n"), 400,
           check=app_error("Invalid body")),
    DevRow("upload-over-limit", req("POST", "/api/echo", JSON_H, f"Content-Length: {2 * MB}",
                                    body=b" " * (2 * MB)), 413, before_handler=True,
           check=app_error("Body exceeded 1mb limit")),
    DevRow("upload-over-limit-says-close", req("POST", "/api/echo", JSON_H, f"Content-Length: {2 * MB}",
                                               body=b" " * (2 * MB), close=False), 413, before_handler=True,
           check=lambda w: (app_error("Body exceeded 1mb limit")(w), closes(w))),
    DevRow("unread-chunked-body-says-close", req("POST", "/api/ok", "Transfer-Encoding: chunked", close=False,
                                                 body=b"30000\r\n" + b" " * 0x30000 + b"\r\n0\r\n\r\n"), 200,
           check=closes),
    DevRow("chunked-over-limit", req("POST", "/api/echo", JSON_H, "Transfer-Encoding: chunked",
                                     body=b"100000\r\n" + b" " * 0x100000 + b"\r\n10\r\n" + b" " * 16
                                     + b"\r\n0\r\n\r\n"), 413, check=app_error("Body exceeded 1mb limit")),
    DevRow("dotdot-on-the-wire", req("GET", "/api/items/../ok"), 404, before_handler=True),
    DevRow("encoded-dotdot-on-the-wire", req("GET", "/api/%2e%2e/ok"), 404, before_handler=True),
    DevRow("nul-in-target", req("GET", "/api/ok%00.py"), 404, before_handler=True),
    DevRow("private-module", req("GET", "/api/_private"), 404, before_handler=True),
    DevRow("protocol-relative-redirect", req("GET", "//evil.com/"), 308, check=location("/evil.com")),
    DevRow("absolute-form-target", req("GET", "http://evil.example/api/ok"), 200),
    DevRow("query-over-8kb", req("GET", "/api/echo?q=" + "x" * 9000), 414, before_handler=True,
           check=app_error("Query string too long"), needles=(b"xxxx",)),
    DevRow("cookie-header-60kb", req("GET", "/api/echo", "Cookie: __Host-sid=good; big=" + "v" * 60_000), 200),
    DevRow("head-has-no-body", req("HEAD", "/api/ok"), 200, head=True),
    DevRow("slow-client-does-not-block", req("GET", "/api/ok"), 200,
           slow_client=b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"),
]


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile-dev")
    pages, markers = build_tree(base)
    recorder = Recorder(App(pages, dev=True))
    catcher = Catcher(recorder)
    old_timeout, DevRequestHandler.timeout = DevRequestHandler.timeout, IDLE
    server = DevServer(("127.0.0.1", 0), catcher, out=io.StringIO())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port, recorder, catcher, markers, [str(base).encode()]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        DevRequestHandler.timeout = old_timeout


def test_the_dev_table_is_big_enough():
    assert len(DEV_ROWS) >= 25 and len({r.id for r in DEV_ROWS}) == len(DEV_ROWS)


@pytest.mark.parametrize("row", DEV_ROWS, ids=[r.id for r in DEV_ROWS])
def test_dev_server_row(dev, row: DevRow):
    port, recorder, catcher, markers, secrets = dev
    recorder.calls.clear()
    catcher.errors.clear()
    slow = None
    if row.slow_client is not None:
        slow = socket.create_connection(("127.0.0.1", port), timeout=10)
        slow.sendall(row.slow_client)
    try:
        data = exchange(port, row.raw)
    finally:
        if slow is not None:
            slow.close()
    # 1. An answer, and nothing raised (wsgiref.validate included).
    assert data, "no answer"
    wire = parse_response(data, head_request=row.head)
    assert not catcher.errors, catcher.errors
    # 2. The expected status; parse_response checked the length is exact.
    assert wire.status == row.status, (wire.status, wire.body[:300])
    if row.head:
        assert not data.partition(b"\r\n\r\n")[2], "HEAD with a body"
    # 3. No traceback, path or echo.
    for bad in (b"Traceback", b'File "', NEXTAPI_DIR, *secrets, *row.needles):
        assert bad not in wire.body and bad not in wire.reason.encode("latin-1"), f"{bad!r} leaked"
    # 4. Refused before the handler: none ran, nothing was read.
    if row.before_handler:
        for environ, counter in recorder.calls:
            assert "hostile.ran" not in environ, "the handler ran"
            assert counter.bytes_read == 0, f"{counter.bytes_read} bytes read"
    assert not any(markers.iterdir()), "a hidden module was imported"
    assert not [e for e, _ in recorder.calls if e.get("QUERY_STRING") == "smuggled"], "the hidden request ran"
    if row.check is not None:
        row.check(wire)
    # 5. A normal request afterwards.
    after = parse_response(exchange(port, req("GET", "/api/ok")))
    assert after.status == 200 and json.loads(after.body) == {"ok": True}


def test_an_idle_connection_is_dropped_after_the_socket_timeout(dev):
    port = dev[0]
    with socket.create_connection(("127.0.0.1", port), timeout=10 * IDLE) as sock:
        sock.sendall(b"GET /api/ok HTTP/1.1\r\nHost: x\r\n")  # and then nothing
        try:
            assert sock.recv(1024) == b""  # closed by the server, well before our own timeout
        except ConnectionResetError:
            pass
    after = parse_response(exchange(port, req("GET", "/api/ok")))
    assert after.status == 200


def test_a_client_reusing_the_connection_after_an_early_413_opens_a_new_one(dev):
    port = dev[0]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/api/echo", body=b" " * (2 * MB), headers={"Content-Type": "application/json"})
        res = conn.getresponse()
        assert res.status == 413 and json.loads(res.read()) == {"error": "Body exceeded 1mb limit"}
        assert res.getheader("Connection") == "close" and conn.sock is None  # http.client let it go
        conn.request("GET", "/api/ok")  # so this one goes out on a new connection
        res = conn.getresponse()
        assert res.status == 200 and json.loads(res.read()) == {"ok": True}
    finally:
        conn.close()


def test_a_small_unread_body_is_drained_and_the_connection_kept(dev):
    port = dev[0]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/api/ok", body=b"x" * 1000)  # the handler never reads it
        res = conn.getresponse()
        assert res.status == 200 and res.getheader("Connection") is None
        res.read()
        sock = conn.sock
        conn.request("GET", "/api/ok")
        res = conn.getresponse()
        assert res.status == 200 and json.loads(res.read()) == {"ok": True} and conn.sock is sock
    finally:
        conn.close()


@pytest.mark.parametrize("cut", [b"5\r\nhel", b"3\r\nhel\r\n", b"3\r\nhel\r\n2"])
def test_a_chunked_body_cut_short_is_a_400_never_a_partial_body(dev, cut):
    """R24: the client went away mid-body; the handler must not get `hel` as the whole body."""
    port = dev[0]
    raw = (b"POST /api/mirror HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n" + cut)
    wire = parse_response(exchange(port, raw))
    assert (wire.status, json.loads(wire.body)) == (400, {"error": "Invalid body"})
