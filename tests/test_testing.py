"""nextapi.testing.Client (R54): what it sends, what it returns, and what it checks."""
from __future__ import annotations

import json
from wsgiref.headers import Headers

import pytest

import nextapi.testing
from nextapi import App
from nextapi.testing import Client, TestResponse
from tests.helpers import write_tree

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


# The cookie jar -------------------------------------------------------------
SET_COOKIE = """
def handler(req, res):
    q = req.query
    kw = {}
    if "max_age" in q:
        kw["max_age"] = int(q["max_age"])
    if "expires" in q:
        kw["expires"] = float(q["expires"])
    if "path" in q:
        kw["path"] = q["path"] or None
    res.set_cookie(q["name"], q.get("value", ""), **kw)
    res.json(req.cookies)
"""
CLEAR_COOKIE = "def handler(req, res):\n    res.clear_cookie(req.query['name'], path=req.query.get('path', '/'))\n"
RAW_SET_COOKIE = "def handler(req, res):\n    res.set_header('Set-Cookie', req.query['h'])\n    res.end()\n"
COOKIES = "def handler(req, res):\n    res.json(req.cookies)\n"


@pytest.fixture
def browser(make_client):
    return make_client({
        "api/set.py": SET_COOKIE,
        "api/clear.py": CLEAR_COOKIE,
        "api/raw.py": RAW_SET_COOKIE,
        "api/deep/set.py": SET_COOKIE,
        "api/deep/raw.py": RAW_SET_COOKIE,
        "api/[[...rest]].py": COOKIES,
    })


def test_a_set_cookie_is_kept_and_sent_back_on_the_next_call(browser):
    assert browser.get("/api/set", query={"name": "sid", "value": "abc"}).json() == {}
    assert browser.get("/api/me").json() == {"sid": "abc"}
    assert browser.post("/api/other/thing").json() == {"sid": "abc"}
    assert browser.cookies["sid"] == "abc"
    assert dict(browser.cookies) == {"sid": "abc"} and "sid" in browser.cookies and len(browser.cookies) == 1


def test_a_new_value_replaces_the_old_one(browser):
    browser.get("/api/set", query={"name": "sid", "value": "one"})
    browser.get("/api/set", query={"name": "theme", "value": "dark"})
    browser.get("/api/set", query={"name": "sid", "value": "two"})
    assert browser.get("/api/me").json() == {"sid": "two", "theme": "dark"}


def test_the_jar_holds_the_value_as_sent_on_the_wire(browser):
    browser.get("/api/set", query={"name": "msg", "value": "hello world;\u20ac"})
    assert browser.cookies["msg"] == "hello%20world%3B%E2%82%AC"
    assert browser.get("/api/me").json() == {"msg": "hello world;\u20ac"}


def test_clear_cookie_deletes_it(browser):
    browser.get("/api/set", query={"name": "sid", "value": "abc"})
    browser.get("/api/set", query={"name": "keep", "value": "1"})
    browser.get("/api/clear", query={"name": "sid"})
    assert "sid" not in browser.cookies
    assert browser.get("/api/me").json() == {"keep": "1"}


@pytest.mark.parametrize("expiry", [{"max_age": "-1"}, {"max_age": "0"}, {"expires": "0"},
                                    {"expires": "1000000000"}])
def test_a_zero_or_negative_max_age_or_a_past_expires_deletes(browser, expiry):
    browser.get("/api/set", query={"name": "sid", "value": "abc"})
    browser.get("/api/set", query={"name": "sid", "value": "gone", **expiry})
    assert browser.get("/api/me").json() == {}
    assert dict(browser.cookies) == {}


@pytest.mark.parametrize("expiry", [{"max_age": "3600"}, {"expires": "4102444800"}])  # 2100-01-01
def test_a_future_max_age_or_expires_keeps_it(browser, expiry):
    browser.get("/api/set", query={"name": "sid", "value": "abc", **expiry})
    assert browser.get("/api/me").json() == {"sid": "abc"}


def test_a_cookie_is_dropped_once_its_max_age_has_run_out(browser, monkeypatch):
    now = 1_700_000_000.0
    monkeypatch.setattr(nextapi.testing, "_now", lambda: now)
    browser.get("/api/set", query={"name": "sid", "value": "abc", "max_age": "60"})
    now += 59
    assert browser.get("/api/me").json() == {"sid": "abc"}
    now += 1
    assert browser.get("/api/me").json() == {}
    assert "sid" not in browser.cookies


@pytest.mark.parametrize("path, sent", [
    ("/api/a", True), ("/api/a/b", True), ("/api/a/b/c", True),
    ("/api/b", False), ("/api/ab", False), ("/api", False), ("/api/other/a", False),
])
def test_a_cookie_path_is_respected_as_rfc_6265_path_match(browser, path, sent):
    browser.get("/api/set", query={"name": "scoped", "value": "1", "path": "/api/a"})
    assert "scoped" in browser.cookies
    assert browser.get(path).json() == ({"scoped": "1"} if sent else {})


def test_a_cookie_path_ending_in_a_slash_matches_below_it(browser):
    browser.get("/api/set", query={"name": "scoped", "value": "1", "path": "/api/a/"})
    assert browser.get("/api/a/b").json() == {"scoped": "1"}
    assert browser.get("/api/ab").json() == {}


def test_without_a_path_the_default_is_the_request_folder(browser):
    browser.get("/api/deep/set", query={"name": "d", "value": "1", "path": ""})
    browser.get("/api/set", query={"name": "top", "value": "1", "path": ""})
    assert browser.get("/api/deep/x").json() == {"d": "1", "top": "1"}
    assert browser.get("/api/x").json() == {"top": "1"}
    assert browser.get("/api/deeper").json() == {"top": "1"}


def test_a_cookie_is_only_deleted_on_its_own_path(browser):
    browser.get("/api/set", query={"name": "scoped", "value": "1", "path": "/api/a"})
    browser.get("/api/clear", query={"name": "scoped"})  # Path=/: another cookie, as in a browser
    assert browser.get("/api/a").json() == {"scoped": "1"}
    browser.get("/api/clear", query={"name": "scoped", "path": "/api/a"})
    assert browser.get("/api/a").json() == {}


def test_one_name_on_two_paths_sends_the_most_specific_first(browser):
    browser.get("/api/set", query={"name": "sid", "value": "root"})
    browser.get("/api/set", query={"name": "sid", "value": "scoped", "path": "/api/a"})
    assert browser.get("/api/a/x").json() == {"sid": "scoped"}  # the first of a duplicate wins
    assert browser.get("/api/b").json() == {"sid": "root"}
    assert browser.cookies["sid"] == "scoped" and len(browser.cookies) == 1
    del browser.cookies["sid"]
    assert browser.get("/api/a/x").json() == {}


def test_per_call_cookies_are_merged_over_the_jar_and_not_stored(browser):
    browser.get("/api/set", query={"name": "sid", "value": "abc"})
    browser.get("/api/set", query={"name": "theme", "value": "dark"})
    seen = browser.get("/api/me", cookies={"theme": "light", "extra": "1"}).json()
    assert seen == {"sid": "abc", "theme": "light", "extra": "1"}
    assert dict(browser.cookies) == {"sid": "abc", "theme": "dark"}
    assert browser.get("/api/me").json() == {"sid": "abc", "theme": "dark"}


def test_an_explicit_cookie_header_is_sent_as_given(browser):
    browser.get("/api/set", query={"name": "sid", "value": "abc"})
    assert browser.get("/api/me", headers={"Cookie": "raw=1"}).json() == {"raw": "1"}
    assert browser.get("/api/me").json() == {"sid": "abc"}


def test_the_jar_can_be_filled_emptied_and_read_by_hand(browser):
    browser.cookies["sid"] = "seeded"
    assert browser.get("/api/a/b").json() == {"sid": "seeded"}
    browser.get("/api/set", query={"name": "t", "value": "1"})
    browser.cookies.clear()
    assert browser.get("/api/me").json() == {}
    with pytest.raises(KeyError):
        browser.cookies["sid"]


@pytest.mark.parametrize("header, jar", [
    ("a=1; Path=/; HttpOnly; SameSite=Lax", {"a": "1"}),
    ("a=1; max-age=0", {}),  # attribute names are case-insensitive
    ("a=1; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT", {"a": "1"}),  # Max-Age wins over Expires
    ("a=1; Expires=Thu, 01-Jan-1970 00:00:00 GMT", {}),  # the old Netscape date form
    ("a=1; Max-Age=soon", {"a": "1"}),  # a bad Max-Age is ignored: a session cookie
    ("a=1; Expires=whenever", {"a": "1"}),
    ("a=1; Domain=elsewhere.example; Secure", {"a": "1"}),  # one test host: not checked
    (' a = "quoted" ', {"a": '"quoted"'}),
    ("novalue", {}), ("=1", {}),  # no name: ignored
    ("a=", {"a": ""}),
])
def test_set_cookie_headers_are_parsed_like_a_browser(browser, header, jar):
    browser.get("/api/raw", query={"h": header})
    assert dict(browser.cookies) == jar


def test_a_relative_path_attribute_means_the_default_path(browser):
    browser.get("/api/deep/raw", query={"h": "a=1; Path=a"})
    assert browser.get("/api/deep/x").json() == {"a": "1"}
    assert browser.get("/api/x").json() == {}
    assert "a" in browser.cookies


def test_cookies_false_turns_the_jar_off(tmp_path):
    app = App(write_tree(tmp_path, {"api/set.py": SET_COOKIE, "api/[[...rest]].py": COOKIES}))
    client = Client(app, cookies=False)
    assert client.cookies is None
    resp = client.get("/api/set", query={"name": "sid", "value": "abc"})
    assert resp.headers["Set-Cookie"].startswith("sid=abc")
    assert client.get("/api/me").json() == {}
    assert client.get("/api/me", cookies={"a": "1"}).json() == {"a": "1"}


def test_the_jar_works_with_any_wsgi_app():
    seen = []

    def app(environ, start_response):
        seen.append(environ.get("HTTP_COOKIE"))
        start_response("200 OK", [("Content-Type", "text/plain"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
        return [b""]

    client = Client(app)
    client.get("/")
    client.get("/")
    assert seen == [None, "a=1; b=2"]
