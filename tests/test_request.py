"""The request a handler sees (R20–R25), through real requests with the test client."""
from __future__ import annotations

import hashlib
import io

import pytest

MB = 1024 * 1024

ECHO = """
def handler(req, res):
    res.json({
        "method": req.method,
        "url": req.url,
        "path": req.path,
        "query": req.query,
        "cookies": req.cookies,
        "headers": dict(req.headers),
    })
"""

# Reports what req.body became: its Python type and a JSON-able view of it.
BODY = """
def handler(req, res):
    body = req.body
    shown = body.decode("latin-1") if isinstance(body, bytes) else body
    res.json({"type": type(body).__name__, "body": shown})
"""


class CountingInput(io.BytesIO):
    """A wsgi.input that remembers how many bytes the app read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


@pytest.fixture
def echo(make_client):
    return make_client({"api/echo.py": ECHO, "api/p/[id].py": ECHO})


@pytest.fixture
def body_client(make_client):
    return make_client({"api/body.py": BODY})


# --- R20: method, url, path, headers, environ ----------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_method_reaches_the_handler_upper_case(echo, method):
    assert echo.request(method.lower(), "/api/echo").json()["method"] == method


def test_url_is_path_and_query_as_sent_and_path_is_decoded(echo):
    data = echo.get("/api/p/a%20b?x=1&y=%20z").json()
    assert data["url"] == "/api/p/a%20b?x=1&y=%20z"
    assert data["path"] == "/api/p/a b"
    assert echo.get("/api/echo").json()["url"] == "/api/echo"


def test_url_without_raw_uri_is_rebuilt_from_path_and_query(echo):
    # Servers that do not pass RAW_URI / REQUEST_URI: rebuilt, re-escaped.
    data = echo.get("/api/p/a%20b?x=1", environ={"RAW_URI": ""}).json()
    assert data["url"] == "/api/p/a%20b?x=1"


def test_headers_are_case_insensitive(make_client):
    client = make_client({"api/h.py": """
def handler(req, res):
    h = req.headers
    res.json([h["X-Token"], h["x-token"], h["X-TOKEN"], h.get("x-TOKEN"),
              "X-Token" in h, "x-missing" in h, h.get("X-Missing"),
              h["Content-Type"]])
"""})
    resp = client.post("/api/h", headers={"X-Token": "abc"}, json={})
    assert resp.json() == ["abc", "abc", "abc", "abc", True, False, None, "application/json"]


def test_headers_mapping_lists_content_headers_lower_case(echo):
    headers = echo.post("/api/echo", headers={"X-A": "1"}, body=b"hi").json()["headers"]
    assert headers["x-a"] == "1"
    assert headers["content-length"] == "2"
    assert "content-type" not in headers  # none was sent


def test_environ_is_the_raw_wsgi_environ(make_client):
    client = make_client({"api/env.py": """
def handler(req, res):
    e = req.environ
    res.json([e["REQUEST_METHOD"], e["SERVER_NAME"], e["QUERY_STRING"], e.get("my.key")])
"""})
    resp = client.get("/api/env?a=1", environ={"my.key": "here"})
    assert resp.json() == ["GET", "testserver", "a=1", "here"]


# --- R21: query ------------------------------------------------------------------


@pytest.mark.parametrize(
    "qs, expected",
    [
        ("", {}),
        ("a=1&b=2&a=3", {"a": ["1", "3"], "b": "2"}),
        ("a=1&a=2&a=3", {"a": ["1", "2", "3"]}),
        ("a=1;b=2", {"a": "1;b=2"}),
        ("a+b=c+d", {"a b": "c d"}),
        ("a", {"a": ""}),
        ("=x", {"": "x"}),
        ("a[]=1&a[]=2", {"a[]": ["1", "2"]}),
        ("a=%ZZ", {"a": "%ZZ"}),
        ("a=%FF", {"a": "\ufffd"}),
        ("a=%E2%82%AC", {"a": "\u20ac"}),
        ("&&a=1&&", {"a": "1"}),
    ],
)
def test_query_is_parsed_like_nextjs(echo, qs, expected):
    assert echo.get(f"/api/echo?{qs}" if qs else "/api/echo").json()["query"] == expected


def test_route_params_win_over_query_keys(echo):
    assert echo.get("/api/p/5?id=9&id=10&x=1").json()["query"] == {"id": "5", "x": "1"}


def test_an_encoded_slash_stays_inside_the_route_param(echo):
    # R6 with the raw target (RAW_URI) as gunicorn and the dev server pass it; Next.js gives the same.
    assert echo.get("/api/p/a%2Fb").json()["query"] == {"id": "a/b"}
    assert echo.get("/api/p/a%2fb").json()["query"] == {"id": "a/b"}


def test_without_a_raw_target_an_encoded_slash_is_a_separator(echo):
    resp = echo.get("/api/p/a%2Fb", environ={"RAW_URI": ""})
    assert resp.status == 404


def test_query_kwarg_of_the_client_reaches_req_query(echo):
    assert echo.get("/api/echo?a=1", query={"b": ["2", "3"]}).json()["query"] == {"a": "1", "b": ["2", "3"]}


# --- R22: cookies ---------------------------------------------------------------


def test_cookies_from_the_cookie_header(echo):
    assert echo.get("/api/echo", cookies={"a": "1", "b": "x y"}).json()["cookies"] == {"a": "1", "b": "x y"}


def test_no_cookie_header_gives_empty_dict(echo):
    assert echo.get("/api/echo").json()["cookies"] == {}


def test_a_bad_cookie_pair_does_not_drop_good_ones(echo):
    header = 'junk; a=1; ;=; b="q v"; c=%E2%82%AC; d=%E2%8; a=2; e=1,f=2'
    cookies = echo.get("/api/echo", headers={"Cookie": header}).json()["cookies"]
    assert cookies["a"] == "1"  # first wins
    assert cookies["b"] == "q v"
    assert cookies["c"] == "\u20ac"
    assert cookies["d"] == "%E2%8"
    assert cookies["e"] == "1,f=2"
    assert "junk" not in cookies


# --- R23: body by content type ----------------------------------------------------


@pytest.mark.parametrize(
    "content_type, payload, kind, value",
    [
        ("application/json", b'{"a": [1, 2]}', "dict", {"a": [1, 2]}),
        ("application/json; charset=utf-8", b"[1, true, null]", "list", [1, True, None]),
        ("Application/JSON", b'"s"', "str", "s"),
        ("application/json", b"", "dict", {}),  # empty JSON body -> {}
        ("text/plain", b"", "str", ""),
        ("application/octet-stream", b"", "bytes", ""),
        ("application/ld+json", b'{"@id": "x"}', "dict", {"@id": "x"}),
        ("application/vnd.api+json", b'{"x": 1}', "dict", {"x": 1}),
        ("application/problem+json", b"3", "int", 3),
        ("text/plain", b"hello world", "str", "hello world"),
        ("text/csv", b"a,b\n1,2", "str", "a,b\n1,2"),
        ("text/plain; charset=latin-1", b"caf\xe9", "str", "caf\u00e9"),
        ('text/plain; Charset="utf-8"', "caf\u00e9".encode(), "str", "caf\u00e9"),
        (None, b"raw", "str", "raw"),
        (None, "\u20ac".encode(), "str", "\u20ac"),
        ("application/octet-stream", b"ab\xffcd", "bytes", "ab\xffcd"),
        ("image/png", b"\x89PNG", "bytes", "\x89PNG"),
        ("application/x-www-form-urlencoded", b"a=1&a=2&b=x+y&c=%20&d", "dict",
         {"a": ["1", "2"], "b": "x y", "c": " ", "d": ""}),
    ],
)
def test_body_is_parsed_by_content_type(body_client, content_type, payload, kind, value):
    headers = {"Content-Type": content_type} if content_type else {}
    resp = body_client.post("/api/body", body=payload, headers=headers)
    assert resp.status == 200, resp.text
    assert resp.json() == {"type": kind, "body": value}


def test_multipart_does_not_crash(body_client):
    # The body parser must take a multipart upload in its stride. Whether it arrives as the
    # raw bytes or as parsed fields (R23, with uploads in req.files) is multipart's own suite.
    boundary = "XyZ"
    payload = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n"
        f"Content-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n"
    ).encode()
    resp = body_client.post("/api/body", body=payload,
                            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert resp.status == 200
    assert resp.json()["type"] in ("bytes", "dict")


@pytest.mark.parametrize(
    "kwargs",
    [
        {},  # GET, nothing at all
        {"method": "POST"},  # POST without a body or Content-Length
        {"method": "POST", "body": b"", "chunked": True},  # chunked input that was empty
        {"method": "POST", "body": b""},  # Content-Length: 0, no type
    ],
)
def test_no_body_is_none(body_client, kwargs):
    method = kwargs.pop("method", "GET")
    assert body_client.request(method, "/api/body", **kwargs).json() == {"type": "NoneType", "body": None}


def test_raw_body_is_the_bytes_as_received(make_client):
    client = make_client({"api/sig.py": """
import hashlib
def handler(req, res):
    res.json({"sha": hashlib.sha256(req.raw_body).hexdigest(), "parsed": req.body})
"""})
    payload = b'{ "b" : 2,\n  "a": 1 }'
    resp = client.post("/api/sig", body=payload, headers={"Content-Type": "application/json"})
    assert resp.json() == {"sha": hashlib.sha256(payload).hexdigest(), "parsed": {"b": 2, "a": 1}}


def test_raw_body_is_none_without_a_body(make_client):
    client = make_client({"api/r.py": "def handler(req, res):\n    res.json(req.raw_body)\n"})
    assert client.get("/api/r").json() is None


def test_chunked_body_within_the_limit(body_client):
    resp = body_client.post("/api/body", json={"k": "v" * 1000}, chunked=True)
    assert resp.json() == {"type": "dict", "body": {"k": "v" * 1000}}


# --- R24: body errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type, payload, message",
    [
        ("application/json", b"{bad", "Invalid JSON"),
        ("application/json", b'{"a": NaN}', "Invalid JSON"),
        ("application/vnd.api+json", b"[1,", "Invalid JSON"),
        ("application/json", b"\xff\xfe", "Invalid JSON"),
        ("text/plain", b"\xff\xfe", "Invalid body"),
        ("text/plain; charset=no-such-codec", b"hi", "Invalid body"),
        (None, b"\xc3(", "Invalid body"),
    ],
)
def test_bad_body_is_400_json(body_client, content_type, payload, message):
    headers = {"Content-Type": content_type} if content_type else {}
    resp = body_client.post("/api/body", body=payload, headers=headers)
    assert resp.status == 400
    assert resp.json() == {"error": message}
    assert resp.headers["Content-Type"].startswith("application/json")


def test_invalid_content_length_is_400(body_client):
    resp = body_client.post("/api/body", body=b"x", headers={"Content-Length": "+1"})
    assert (resp.status, resp.json()) == (400, {"error": "Invalid Content-Length"})


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize("size, status", [(MB, 200), (MB + 1, 413), (MB + MB // 10, 413)])
def test_default_limit_is_1mb(body_client, chunked, size, status):
    resp = body_client.post("/api/body", body=b"x" * size, chunked=chunked)
    assert resp.status == status
    if status == 413:
        assert resp.json() == {"error": "Body exceeded 1mb limit"}
        assert resp.headers["Content-Type"].startswith("application/json")
    else:
        assert len(resp.json()["body"]) == size


@pytest.mark.parametrize("chunked", [False, True])
def test_configured_size_limit_accepts_more_and_names_itself(make_client, chunked):
    client = make_client({"api/big.py": 'config = {"body_parser": {"size_limit": "5mb"}}\n' + BODY})
    payload = b"x" * (MB + MB // 10)  # 1.1 MB
    resp = client.post("/api/big", body=payload, headers={"Content-Type": "text/plain"}, chunked=chunked)
    assert (resp.status, len(resp.json()["body"])) == (200, len(payload))
    resp = client.post("/api/big", body=b"x" * (6 * MB), chunked=chunked)
    assert (resp.status, resp.json()) == (413, {"error": "Body exceeded 5mb limit"})


def _marking_handler(marker) -> str:
    # The handler leaves a file behind if any of its code ran (before or after reading the body).
    return f"""
from pathlib import Path
MARK = Path({str(marker)!r})
def handler(req, res):
    MARK.with_suffix(".start").touch()
    body = req.body
    MARK.with_suffix(".after").touch()
    res.json(len(body))
"""


def test_413_with_content_length_is_answered_before_reading_or_running_the_handler(make_client, tmp_path):
    client = make_client({"api/up.py": _marking_handler(tmp_path / "mark")})
    stream = CountingInput(b"x" * (3 * MB))
    resp = client.post("/api/up", body=b"x" * (3 * MB), environ={"wsgi.input": stream})
    assert (resp.status, resp.json()) == (413, {"error": "Body exceeded 1mb limit"})
    assert stream.bytes_read == 0
    assert not (tmp_path / "mark.start").exists()


def test_413_with_chunked_input_reads_at_most_the_limit(make_client, tmp_path):
    client = make_client({"api/up.py": _marking_handler(tmp_path / "mark")})
    stream = CountingInput(b"x" * (3 * MB))
    resp = client.post("/api/up", body=b"", chunked=True, environ={"wsgi.input": stream})
    assert (resp.status, resp.json()) == (413, {"error": "Body exceeded 1mb limit"})
    assert stream.bytes_read <= MB + 1
    # Bodies are parsed lazily: the handler starts, but never gets past req.body.
    assert not (tmp_path / "mark.after").exists()


def test_body_error_is_raised_again_on_a_second_read(make_client):
    client = make_client({"api/twice.py": """
def handler(req, res):
    errors = []
    for _ in range(2):
        try:
            req.body
        except Exception as exc:
            errors.append(str(exc))
    res.json(errors)
"""})
    resp = client.post("/api/twice", body=b"{bad", headers={"Content-Type": "application/json"})
    assert resp.json() == ["Invalid JSON", "Invalid JSON"]


# --- R25: body_parser False ---------------------------------------------------------------


STREAM = """
config = {"body_parser": False}
def handler(req, res):
    total = 0
    while True:
        chunk = req.stream.read(65536)
        if not chunk:
            break
        total += len(chunk)
    res.json({"body": req.body, "raw": req.raw_body, "read": total})
"""


def test_body_parser_false_leaves_the_stream_to_the_handler(make_client):
    client = make_client({"api/s.py": STREAM})
    resp = client.post("/api/s", json={"a": 1})
    assert resp.json() == {"body": None, "raw": None, "read": len(b'{"a": 1}')}


def test_body_parser_false_has_no_size_limit(make_client):
    client = make_client({"api/s.py": STREAM})
    resp = client.post("/api/s", body=b"x" * (2 * MB))
    assert (resp.status, resp.json()["read"]) == (200, 2 * MB)


def test_body_parser_false_does_not_parse_invalid_json(make_client):
    client = make_client({"api/s.py": STREAM})
    resp = client.post("/api/s", body=b"{bad", headers={"Content-Type": "application/json"})
    assert resp.json() == {"body": None, "raw": None, "read": 4}


def test_stream_is_none_when_the_parser_is_on(make_client):
    client = make_client({"api/s.py": "def handler(req, res):\n    res.json(req.stream is None)\n"})
    assert client.post("/api/s", body=b"x").json() is True
