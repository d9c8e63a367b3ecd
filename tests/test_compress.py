"""R105: nextapi.gzip(*, min_size=1024, level=6), and the response hook it stands on (res.add_encoder).

Through nextapi.testing.Client (every exchange through wsgiref.validate): as app
middleware, in a _middleware.py, as a decorator on sync and async handlers; the
bodies are decompressed and compared; ETags and 304s for GET and HEAD; HEAD's
headers are GET's; server-sent events arrive event by event, in-process and
from the dev server over a real socket.
"""
from __future__ import annotations

import gzip as gziplib
import http.client
import json
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from nextapi import App, gzip
from nextapi.batteries.compress import accepts_gzip, compressible
from nextapi.testing import Client
from tests.helpers import write_tree
from tests.servers import HTTP_TIMEOUT, dev_server_args, free_port, running

GZ = {"Accept-Encoding": "gzip, deflate, br"}
BIG = {"items": [{"id": i, "text": "hello world " * 3} for i in range(100)]}
BIG_BYTES = json.dumps(BIG, separators=(",", ":")).encode()

ROUTES = {
    "api/big.py": f"""
        def get(req, res):
            return {BIG!r}

        def post(req, res):
            return {BIG!r}
    """,
    "api/small.py": """
        def get(req, res):
            return {"small": True}
    """,
    "api/medium.py": """
        def get(req, res):
            return "m" * 200
    """,
    "api/typed.py": """
        def get(req, res):
            res.set_header("Content-Type", req.query["type"])
            res.send(("<p>" + "hello world " * 200 + "</p>").encode())
    """,
    "api/status.py": """
        def get(req, res):
            code = int(req.query["code"])
            res.status(code)
            if code == 206:
                res.set_header("Content-Range", "bytes 0-2999/9000")
            res.send("x" * 3000)
    """,
    "api/encoded.py": """
        import gzip

        def get(req, res):
            res.set_header("Content-Encoding", "gzip").set_header("Content-Type", "text/plain")
            res.send(gzip.compress(b"already " * 500))
    """,
    "api/notransform.py": """
        def get(req, res):
            res.set_header("Cache-Control", "public, no-transform")
            return "x" * 3000
    """,
    "api/tagged.py": """
        def get(req, res):
            res.set_header("ETag", req.query.get("tag", '"v1"'))
            return "tagged " * 500
    """,
    "api/random.py": """
        import random

        def get(req, res):
            res.set_header("Content-Type", "text/plain")
            return random.Random(7).randbytes(4000)
    """,
    "api/sse.py": """
        def get(req, res):
            res.set_header("Content-Type", "text/event-stream")
            res.set_header("Cache-Control", "no-cache")

            def events():
                for i in range(3):
                    yield f"data: {i}\\n\\n"
            return events()
    """,
    "api/asse.py": """
        async def get(req, res):
            res.set_header("Content-Type", "text/event-stream")

            async def events():
                for i in range(3):
                    yield f"data: {i}\\n\\n"
            return events()
    """,
    "api/bytestream.py": """
        def get(req, res):
            res.send(iter([b"x" * 5000]))  # application/octet-stream: left alone
    """,
    "api/teapot.py": """
        from nextapi import HTTPError

        def get(req, res):
            raise HTTPError(418, body={"errors": ["short and stout"] * 200})
    """,
    "api/boom.py": """
        def get(req, res):
            raise RuntimeError("boom")
    """,
    "api/written.py": """
        def get(req, res):
            res.write("a" * 2000)
            res.write("b" * 2000)
            res.end()
    """,
}


def client(tmp_path: Path, *middleware: Any, files: dict[str, str] | None = None, **kw: Any) -> Client:
    pages = write_tree(tmp_path, files if files is not None else ROUTES)
    return Client(App(pages, middleware=list(middleware)), **kw)


@pytest.fixture
def c(tmp_path: Path) -> Client:
    return client(tmp_path, gzip())


def assert_gzipped(resp: Any, identity: bytes) -> None:
    assert resp.status == 200
    assert resp.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in resp.headers["Vary"]
    assert int(resp.headers["Content-Length"]) == len(resp.content) < len(identity)
    assert gziplib.decompress(resp.content) == identity


def assert_identity(resp: Any) -> None:
    assert "Content-Encoding" not in resp.headers
    if "Content-Length" in resp.headers:
        assert int(resp.headers["Content-Length"]) == len(resp.content)


# -- Accept-Encoding ---------------------------------------------------------------------------
@pytest.mark.parametrize("header, ok", [
    ("gzip", True), ("GZIP", True), ("x-gzip", True), ("gzip, deflate, br, zstd", True),
    ("deflate, gzip;q=1.0, *;q=0.5", True), ("br;q=1, gzip;q=0.5", True), ("gzip; q=0.001", True),
    ("gzip;q=0", False), ("gzip;q=0.0", False), ("gzip; q=0.000", False), ("gzip;q=0, *", False),
    ("*", True), ("*;q=0", False), ("*;q=0.3, br", True), ("br, *;q=0", False), ("identity", False),
    ("deflate, br", False), ("", False), (None, False), ("gzip;q=1.5", False), ("gzip;q=abc", False),
    ("gzip;q=-1", False), ("gzipx", False), (" , ,gzip", True), ("x" * 100_000, False),
    (",".join(["br"] * 10_000) + ",gzip", False),  # only the first 64 codings are read
])
def test_accept_encoding(header: str | None, ok: bool) -> None:
    assert accepts_gzip(header) is ok


@pytest.mark.parametrize("ctype, ok", [
    ("application/json; charset=utf-8", True), ("text/plain", True), ("text/html; charset=utf-8", True),
    ("text/css", True), ("text/event-stream", True), ("application/javascript", True), ("text/javascript", True),
    ("image/svg+xml", True), ("application/problem+json", True), ("application/ld+json", True),
    ("application/atom+xml", True), ("application/xml", True), ("application/x-ndjson", True),
    ("Application/JSON", True), ("application/wasm", True),
    ("image/png", False), ("image/jpeg", False), ("application/octet-stream", False), ("application/zip", False),
    ("application/gzip", False), ("font/woff2", False), ("video/mp4", False), ("", False), (None, False),
])
def test_compressible_types(ctype: str | None, ok: bool) -> None:
    assert compressible(ctype) is ok


# -- whole bodies ---------------------------------------------------------------------------------
def test_json_is_compressed_and_decompresses_to_the_body(c: Client) -> None:
    resp = c.get("/api/big", headers=GZ)
    assert_gzipped(resp, BIG_BYTES)
    assert resp.headers["Vary"] == "Accept-Encoding"
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert resp.chunks == [resp.content]


def test_any_method_is_compressed(c: Client) -> None:
    assert_gzipped(c.post("/api/big", headers=GZ, json={}), BIG_BYTES)


def test_written_bodies_too(c: Client) -> None:
    assert_gzipped(c.get("/api/written", headers=GZ), b"a" * 2000 + b"b" * 2000)


def test_a_client_that_does_not_accept_gzip_gets_identity_and_vary(c: Client) -> None:
    for headers in ({}, {"Accept-Encoding": "br"}, {"Accept-Encoding": "gzip;q=0"},
                    {"Accept-Encoding": "identity"}):
        resp = c.get("/api/big", headers=headers)
        assert resp.content == BIG_BYTES
        assert_identity(resp)
        assert resp.headers["Vary"] == "Accept-Encoding"  # a cache must not give it to a gzip client


def test_under_min_size_is_left_alone(c: Client, tmp_path: Path) -> None:
    for path in ("/api/small", "/api/medium"):
        resp = c.get(path, headers=GZ)
        assert resp.status == 200
        assert_identity(resp)
        assert "Vary" not in resp.headers  # never compressed, whoever asks
    lower = client(tmp_path, gzip(min_size=100))
    assert_gzipped(lower.get("/api/medium", headers=GZ), b"m" * 200)
    tiny = client(tmp_path, gzip(min_size=0)).get("/api/small", headers=GZ)
    assert tiny.json() == {"small": True}  # gzip would make 14 bytes bigger: sent as they are
    assert "Content-Encoding" not in tiny.headers and tiny.headers["Vary"] == "Accept-Encoding"


def test_min_size_is_the_identity_size(tmp_path: Path) -> None:
    at = client(tmp_path, gzip(min_size=len(BIG_BYTES))).get("/api/big", headers=GZ)
    assert at.headers["Content-Encoding"] == "gzip"
    over = client(tmp_path, gzip(min_size=len(BIG_BYTES) + 1)).get("/api/big", headers=GZ)
    assert over.content == BIG_BYTES and "Content-Encoding" not in over.headers


@pytest.mark.parametrize("ctype", ["text/html; charset=utf-8", "application/javascript", "image/svg+xml",
                                   "text/css", "application/xml", "application/vnd.api+json"])
def test_text_like_types_are_compressed(c: Client, ctype: str) -> None:
    resp = c.get(f"/api/typed?type={quote(ctype)}", headers=GZ)
    assert resp.headers["Content-Type"] == ctype
    assert_gzipped(resp, ("<p>" + "hello world " * 200 + "</p>").encode())


@pytest.mark.parametrize("ctype", ["image/png", "application/octet-stream", "application/zip", "font/woff2"])
def test_other_types_are_left_alone(c: Client, ctype: str) -> None:
    resp = c.get(f"/api/typed?type={quote(ctype)}", headers=GZ)
    assert_identity(resp)
    assert "Vary" not in resp.headers


@pytest.mark.parametrize("code", [200, 206, 204, 304])
def test_skipped_statuses(c: Client, code: int) -> None:
    resp = c.get(f"/api/status?code={code}", headers=GZ)
    assert resp.status == code
    if code == 200:
        assert resp.headers["Content-Encoding"] == "gzip"
        return
    assert_identity(resp)
    assert "Vary" not in resp.headers
    if code == 206:
        assert resp.content == b"x" * 3000


def test_a_range_request_is_left_alone(c: Client) -> None:
    resp = c.get("/api/big", headers={**GZ, "Range": "bytes=0-99"})
    assert resp.content == BIG_BYTES
    assert_identity(resp)


def test_a_body_already_encoded_is_left_alone(c: Client) -> None:
    resp = c.get("/api/encoded", headers=GZ)
    assert resp.headers.get_all("Content-Encoding") == ["gzip"]
    assert gziplib.decompress(resp.content) == b"already " * 500  # once, not twice
    assert "Vary" not in resp.headers


def test_no_transform_is_honoured(c: Client) -> None:
    resp = c.get("/api/notransform", headers=GZ)
    assert resp.text == "x" * 3000
    assert_identity(resp)


def test_a_body_that_would_not_shrink_goes_as_it_is(c: Client) -> None:
    resp = c.get("/api/random", headers=GZ)
    assert len(resp.content) == 4000
    assert_identity(resp)
    assert resp.headers["Vary"] == "Accept-Encoding"
    head = c.head("/api/random", headers=GZ)
    assert head.headers.items() == resp.headers.items()


@pytest.mark.parametrize("level", [1, 9])
def test_levels(tmp_path: Path, level: int) -> None:
    assert_gzipped(client(tmp_path, gzip(level=level)).get("/api/big", headers=GZ), BIG_BYTES)


@pytest.mark.parametrize("kw", [{"level": 0}, {"level": 10}, {"level": "6"}, {"min_size": -1},
                                {"min_size": 1.5}, {"min_size": True}])
def test_bad_options_are_refused(kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        gzip(**kw)


def test_error_answers_are_compressed_too(tmp_path: Path) -> None:
    c = client(tmp_path, gzip(), raise_server_exceptions=False)
    teapot = c.get("/api/teapot", headers=GZ)
    assert teapot.status == 418 and teapot.headers["Content-Encoding"] == "gzip"
    assert json.loads(gziplib.decompress(teapot.content)) == {"errors": ["short and stout"] * 200}
    small = c.get("/api/boom", headers=GZ)  # {"error": ...}: under min_size
    assert small.status == 500 and small.json() == {"error": "Internal Server Error"}
    dev = Client(App(write_tree(tmp_path, ROUTES), dev=True, middleware=[gzip()]), raise_server_exceptions=False)
    page = dev.get("/api/boom", headers={**GZ, "Accept": "text/html"})  # the dev error page
    assert page.status == 500 and page.headers["Content-Encoding"] == "gzip"
    assert b"RuntimeError" in gziplib.decompress(page.content)


# -- ETags, 304, HEAD ---------------------------------------------------------------------------------------
def test_the_compressed_body_has_its_own_etag_and_304s(c: Client) -> None:
    plain = c.get("/api/big")
    zipped = c.get("/api/big", headers=GZ)
    assert plain.headers["ETag"] != zipped.headers["ETag"]
    for method in ("GET", "HEAD"):
        for tag in (zipped.headers["ETag"], "W/" + zipped.headers["ETag"], f'"x", {zipped.headers["ETag"]}'):
            resp = c.request(method, "/api/big", headers={**GZ, "If-None-Match": tag})
            assert resp.status == 304, (method, tag)
            assert resp.content == b""
            assert resp.headers["ETag"] == zipped.headers["ETag"]
            assert resp.headers["Vary"] == "Accept-Encoding"
            assert "Content-Length" not in resp.headers and "Content-Type" not in resp.headers
        # the identity tag names other bytes: the gzip answer is sent whole
        other = c.request(method, "/api/big", headers={**GZ, "If-None-Match": plain.headers["ETag"]})
        assert other.status == 200 and other.headers["ETag"] == zipped.headers["ETag"]
        # and the identity client still gets its 304 with its own tag
        same = c.request(method, "/api/big", headers={"If-None-Match": plain.headers["ETag"]})
        assert same.status == 304 and "Content-Encoding" not in same.headers


def test_a_handlers_own_etag_gets_a_gzip_suffix(c: Client) -> None:
    zipped = c.get("/api/tagged", headers=GZ)
    assert zipped.headers["ETag"] == '"v1-gzip"'
    assert c.get("/api/tagged").headers["ETag"] == '"v1"'
    assert c.get("/api/tagged", headers={**GZ, "If-None-Match": '"v1-gzip"'}).status == 304
    assert c.head("/api/tagged", headers={**GZ, "If-None-Match": '"v1-gzip"'}).status == 304
    assert c.get("/api/tagged", headers={**GZ, "If-None-Match": '"v1"'}).status == 200
    weak = c.get("/api/tagged?tag=" + quote('W/"v2"'), headers=GZ)
    assert weak.headers["ETag"] == 'W/"v2-gzip"'


def test_head_gets_exactly_the_headers_of_get(c: Client) -> None:
    for path in ("/api/big", "/api/small", "/api/sse", "/api/asse", "/api/tagged", "/api/random"):
        for headers in (GZ, {}):
            get = c.get(path, headers=headers)
            head = c.head(path, headers=headers)
            assert head.status == get.status == 200
            assert head.content == b""
            assert head.headers.items() == get.headers.items(), path


def test_etags_off_still_compress(tmp_path: Path) -> None:
    files = {"api/noetag.py": f"config = {{'etag': False}}\n\ndef get(req, res):\n    return {BIG!r}\n"}
    resp = client(tmp_path, gzip(), files=files).get("/api/noetag", headers=GZ)
    assert_gzipped(resp, BIG_BYTES)
    assert "ETag" not in resp.headers


# -- streams ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/sse", "/api/asse"])
def test_server_sent_events_arrive_event_by_event(c: Client, path: str) -> None:
    resp = c.get(path, headers=GZ)
    assert resp.status == 200
    assert resp.headers["Content-Encoding"] == "gzip"
    assert resp.headers["Vary"] == "Accept-Encoding"
    assert "Content-Length" not in resp.headers
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    events = [decoder.decompress(chunk) for chunk in resp.chunks]
    # each event decodes from its own chunk, before the next one was even produced
    assert events == [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n", b""]
    assert decoder.eof and gziplib.decompress(resp.content) == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"


def test_a_stream_is_left_alone_for_a_client_without_gzip(c: Client) -> None:
    resp = c.get("/api/sse")
    assert resp.chunks == [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n"]
    assert "Content-Encoding" not in resp.headers and resp.headers["Vary"] == "Accept-Encoding"


def test_a_byte_stream_is_left_alone(c: Client) -> None:
    resp = c.get("/api/bytestream", headers=GZ)
    assert resp.content == b"x" * 5000
    assert "Content-Encoding" not in resp.headers


def test_an_empty_stream_is_a_valid_gzip_stream(tmp_path: Path) -> None:
    files = {"api/empty.py": "def get(req, res):\n    res.set_header('Content-Type', 'text/plain')\n"
                             "    res.send(iter([]))\n"}
    resp = client(tmp_path, gzip(), files=files).get("/api/empty", headers=GZ)
    assert resp.headers["Content-Encoding"] == "gzip"
    assert gziplib.decompress(resp.content) == b""


def test_a_stream_is_closed_and_a_head_never_starts_it(tmp_path: Path) -> None:
    files = {"api/gen.py": """
        EVENTS = []

        def get(req, res):
            res.set_header("Content-Type", "text/plain")

            def lines():
                EVENTS.append("started")
                try:
                    yield "one\\n"
                    yield "two\\n"
                finally:
                    EVENTS.append("closed")
            return lines()
    """}
    pages = write_tree(tmp_path, files)
    app = App(pages, middleware=[gzip()])
    c = Client(app)
    from nextapi.testing import build_environ

    module = next(t.module for t, _ in app._loaded.values())
    assert c.head("/api/gen", headers=GZ).headers["Content-Encoding"] == "gzip"
    assert module.EVENTS == []  # HEAD: the generator was closed before it started
    body = app(build_environ("GET", "/api/gen", headers={"accept-encoding": "gzip"}), lambda s, h: None)
    first = next(iter(body))
    assert zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(first) == b"one\n"
    body.close()  # the client went away after the first chunk
    assert module.EVENTS == ["started", "closed"]


# -- the three ways to use it -----------------------------------------------------------------------------------
def test_in_a_folder_middleware(tmp_path: Path) -> None:
    files = {**ROUTES, "api/_middleware.py": "from nextapi import gzip\nmiddleware = gzip()\n"}
    c = client(tmp_path, files=files)
    assert_gzipped(c.get("/api/big", headers=GZ), BIG_BYTES)
    resp = c.get("/api/sse", headers=GZ)
    assert resp.headers["Content-Encoding"] == "gzip" and len(resp.chunks) == 4


@pytest.mark.parametrize("kind", ["def", "async def"])
def test_as_a_decorator(tmp_path: Path, kind: str) -> None:
    files = {"api/deco.py": f"""
        from nextapi import HTTPError, gzip

        @gzip(min_size=10)
        {kind} get(req, res):
            if req.query.get("fail"):
                raise RuntimeError("x" * 100)
            if req.query.get("refuse"):
                raise HTTPError(400, body={{"errors": ["bad"] * 100}})
            return {{"text": "deco " * 100}}
    """}
    c = client(tmp_path, files=files, raise_server_exceptions=False)
    resp = c.get("/api/deco", headers=GZ)
    assert_gzipped(resp, json.dumps({"text": "deco " * 100}, separators=(",", ":")).encode())
    head = c.head("/api/deco", headers=GZ)
    assert head.headers.items() == resp.headers.items()
    assert c.get("/api/deco", headers={**GZ, "If-None-Match": resp.headers["ETag"]}).status == 304
    refused = c.get("/api/deco?refuse=1", headers=GZ)
    assert refused.status == 400 and refused.headers["Content-Encoding"] == "gzip"
    assert json.loads(gziplib.decompress(refused.content)) == {"errors": ["bad"] * 100}
    failed = c.get("/api/deco?fail=1", headers=GZ)  # 36 bytes: gzip would only make them longer
    assert failed.status == 500 and failed.json() == {"error": "Internal Server Error"}
    assert failed.headers["Vary"] == "Accept-Encoding"


def test_with_cors_both_vary(tmp_path: Path) -> None:
    from nextapi import cors

    for chain in ([cors("*"), gzip()], [gzip(), cors("*")]):
        resp = client(tmp_path, *chain).get("/api/big", headers={**GZ, "Origin": "https://a.example"})
        assert resp.headers["Vary"] == "Origin, Accept-Encoding"
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert_gzipped(resp, BIG_BYTES)


# -- the hook itself ----------------------------------------------------------------------------------------------------
def test_encoders_run_innermost_first_before_the_etag(tmp_path: Path) -> None:
    def upper(req, res, next):
        res.add_encoder(lambda r, body: None if body is None else body.upper())
        return next()

    def framed(req, res, next):
        res.add_encoder(lambda r, body: None if body is None else b"[" + body + b"]")
        return next()

    files = {"api/t.py": "def get(req, res):\n    return 'abc'\n"}
    c = client(tmp_path, framed, upper, files=files)
    resp = c.get("/api/t")
    assert resp.content == b"[ABC]" and resp.headers["Content-Length"] == "5"
    assert c.get("/api/t", headers={"If-None-Match": resp.headers["ETag"]}).status == 304
    assert c.get("/api/t").headers["ETag"] == resp.headers["ETag"]


def test_an_encoder_returning_the_wrong_thing_is_a_500(tmp_path: Path) -> None:
    def bad(req, res, next):
        res.add_encoder(lambda r, body: "text")
        return next()

    files = {"api/t.py": "def get(req, res):\n    return 'abc'\n"}
    resp = client(tmp_path, bad, files=files, raise_server_exceptions=False).get("/api/t")
    assert resp.status == 500 and resp.json() == {"error": "Internal Server Error"}


# -- over a real socket: the dev server, gzip from a _middleware.py --------------------------------------------------------
SSE_ROUTE = '''
import os
import time

def get(req, res):
    flag = req.query["flag"]
    res.set_header("Content-Type", "text/event-stream")

    def events():
        yield "data: first\\n\\n"
        for _ in range(400):  # waits for the test, 20 s at most
            if os.path.exists(flag):
                break
            time.sleep(0.05)
        yield "data: second\\n\\n"
    return events()
'''


def test_sse_through_gzip_from_the_dev_server(tmp_path: Path) -> None:
    pages = write_tree(tmp_path / "project", {
        "api/_middleware.py": "from nextapi import gzip\nmiddleware = gzip()\n",
        "api/events.py": SSE_ROUTE,
        "api/big.py": f"def get(req, res):\n    return {BIG!r}\n",
    })
    flag = tmp_path / "release"
    port = free_port()
    with running(dev_server_args(pages, port), port, tmp_path / "logs"):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
        try:
            conn.request("GET", "/api/big", headers=GZ)
            whole = conn.getresponse()
            data = whole.read()
            assert whole.headers["Content-Encoding"] == "gzip"
            assert int(whole.headers["Content-Length"]) == len(data)
            assert gziplib.decompress(data) == BIG_BYTES

            conn.request("GET", f"/api/events?flag={quote(str(flag))}", headers=GZ)
            resp = conn.getresponse()
            assert resp.status == 200
            assert resp.headers["Content-Encoding"] == "gzip"
            assert resp.headers["Content-Type"] == "text/event-stream"
            assert resp.headers.get("Content-Length") is None
            decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
            # The handler waits for the flag now: a buffering server or encoder would send
            # nothing, and this read would time out.
            got = b""
            while b"\n\n" not in got:
                chunk = resp.read1(1024)
                assert chunk, "the stream ended before the first event"
                got += decoder.decompress(chunk)
            assert got == b"data: first\n\n"
            flag.touch()
            rest = decoder.decompress(resp.read())
            assert rest == b"data: second\n\n" and decoder.eof
        finally:
            flag.touch()  # never leave the handler waiting
            conn.close()
