"""nextapi.testing.Client (R54): what it sends, what it returns, and what it checks."""
from __future__ import annotations

import json
from wsgiref.headers import Headers

import pytest

from nextapi.testing import Client, TestResponse

ECHO = """
def handler(req, res):
    body = req.body
    res.set_header("X-Seen-Type", req.headers.get("content-type", "-"))
    res.json({
        "method": req.method,
        "url": req.url,
        "query": req.query,
        "cookies": req.cookies,
        "headers": dict(req.headers),
        "body": body.decode("latin-1") if isinstance(body, bytes) else body,
        "chunked": bool(req.environ.get("wsgi.input_terminated")),
        "extra": req.environ.get("test.extra"),
    })
"""


@pytest.fixture
def client(make_client):
    return make_client({
        "api/echo.py": ECHO,
        "api/boom.py": "def handler(req, res):\n    raise KeyError('from the handler')\n",
        "api/items/[id].py": "def handler(req, res):\n    res.json(req.query)\n",
    })


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "options", "head"])
def test_method_helpers(client, method):
    resp = getattr(client, method)("/api/echo")
    assert resp.status == 200
    if method == "head":
        assert resp.content == b""
    else:
        assert resp.json()["method"] == method.upper()


def test_request_with_any_method(client):
    assert client.request("put", "/api/echo").json()["method"] == "PUT"


def test_query_merges_with_the_query_in_the_path(client):
    data = client.get("/api/echo?a=1", query={"b": "x y", "c": ["1", "2"]}).json()
    assert data["query"] == {"a": "1", "b": "x y", "c": ["1", "2"]}
    assert data["url"] == "/api/echo?a=1&b=x+y&c=1&c=2"


def test_path_is_sent_percent_encoded_as_on_the_wire(client):
    assert client.get("/api/items/a%20b").json() == {"id": "a b"}
    assert client.get("/api/items/caf\u00e9").json() == {"id": "caf\u00e9"}


def test_headers_and_cookies(client):
    data = client.get("/api/echo", headers={"X-Token": "t", "Accept": "application/json"},
                      cookies={"sid": "abc", "theme": "dark"}).json()
    assert data["headers"]["x-token"] == "t"
    assert data["headers"]["accept"] == "application/json"
    assert data["cookies"] == {"sid": "abc", "theme": "dark"}


def test_json_sends_a_json_body(client):
    resp = client.post("/api/echo", json={"a": [1, "\u20ac"]})
    assert resp.json()["body"] == {"a": [1, "\u20ac"]}
    assert resp.headers["X-Seen-Type"] == "application/json"
    assert resp.json()["headers"]["content-length"] == str(len(json.dumps({"a": [1, "\u20ac"]}).encode()))


def test_json_keeps_an_explicit_content_type(client):
    resp = client.post("/api/echo", json=[1], headers={"Content-Type": "application/vnd.api+json"})
    assert (resp.headers["X-Seen-Type"], resp.json()["body"]) == ("application/vnd.api+json", [1])


@pytest.mark.parametrize(
    "kwargs, seen_type, body",
    [
        ({"data": {"a": ["1", "2"], "b": "x y"}}, "application/x-www-form-urlencoded",
         {"a": ["1", "2"], "b": "x y"}),
        ({"data": "plain text \u20ac"}, "-", "plain text \u20ac"),
        ({"data": b"\x00\x01", "headers": {"Content-Type": "application/octet-stream"}},
         "application/octet-stream", "\x00\x01"),
        ({"body": b"raw bytes", "headers": {"Content-Type": "text/plain"}}, "text/plain", "raw bytes"),
        ({"body": "as str"}, "-", "as str"),
        ({}, "-", None),
    ],
)
def test_data_and_body(client, kwargs, seen_type, body):
    resp = client.post("/api/echo", **kwargs)
    assert (resp.headers["X-Seen-Type"], resp.json()["body"]) == (seen_type, body)


def test_chunked_sends_without_content_length(client):
    data = client.post("/api/echo", body=b"abc", chunked=True).json()
    assert data["chunked"] is True
    assert "content-length" not in data["headers"]
    assert data["body"] == "abc"


def test_environ_overrides_and_extends(client):
    assert client.get("/api/echo", environ={"test.extra": "yes"}).json()["extra"] == "yes"


def test_response_object(client):
    resp = client.get("/api/echo?x=1")
    assert isinstance(resp, TestResponse)
    assert resp.status == 200 and resp.status_line == "200 OK"
    assert isinstance(resp.headers, Headers)
    assert resp.headers["content-type"] == resp.headers["Content-Type"]
    assert resp.content == b"".join(resp.chunks)
    assert resp.text == resp.content.decode("utf-8")
    assert resp.json()["query"] == {"x": "1"}
    assert repr(resp) == "<TestResponse 200 OK>"


def test_handler_exceptions_are_raised_again_by_default(client):
    with pytest.raises(KeyError, match="from the handler"):
        client.get("/api/boom")


def test_raise_server_exceptions_false_returns_the_500(make_client):
    client = make_client({"api/boom.py": "def handler(req, res):\n    raise KeyError('x')\n"},
                         raise_server_exceptions=False)
    resp = client.get("/api/boom")
    assert (resp.status, resp.json()) == (500, {"error": "Internal Server Error"})


def test_every_call_goes_through_wsgiref_validate():
    def broken_app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return ["a str, not bytes"]

    with pytest.raises(AssertionError):
        Client(broken_app).get("/")


def test_validate_checks_status_lines_too():
    def broken_app(environ, start_response):
        start_response("2000 OK", [("Content-Type", "text/plain")])  # not a 3-digit code
        return [b""]

    with pytest.raises(AssertionError):
        Client(broken_app).get("/")


def test_client_works_with_any_wsgi_app():
    seen = {}

    def app(environ, start_response):
        seen.update(method=environ["REQUEST_METHOD"], path=environ["PATH_INFO"], qs=environ["QUERY_STRING"],
                    body=environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        start_response("201 Created", [("Content-Type", "text/plain"), ("X-A", "1"), ("X-A", "2")])
        return [b"a", b"b"]

    resp = Client(app).put("/p%20q?x=1", body=b"hi")
    assert seen == {"method": "PUT", "path": "/p q", "qs": "x=1", "body": b"hi"}
    assert (resp.status, resp.chunks, resp.text) == (201, [b"a", b"b"], "ab")
    assert resp.headers.get_all("X-A") == ["1", "2"]


def test_status_code_is_the_same_as_status(client):
    resp = client.get("/api/nope")
    assert (resp.status_code, resp.status) == (404, 404)
