"""Errors (R40–R42) and logging (R55), through real requests."""
from __future__ import annotations

import logging

import pytest

JSON_TYPE = "application/json; charset=utf-8"

RAISE_418 = """
from nextapi import HTTPError
def handler(req, res):
    res.set_header("X-Before", "kept")
    raise HTTPError(418, "I'm a teapot", headers={"X-Why": "tea", "Retry-After": "5"})
"""


def error_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "nextapi" and r.levelno >= logging.ERROR]


# --- R40: HTTPError ----------------------------------------------------------------------------


def test_http_error_from_a_handler(make_client):
    resp = make_client({"api/x.py": RAISE_418}).get("/api/x")
    assert resp.status == 418
    assert resp.json() == {"error": "I'm a teapot"}
    assert resp.headers["Content-Type"] == JSON_TYPE
    assert resp.headers["X-Why"] == "tea"
    assert resp.headers["Retry-After"] == "5"
    assert resp.headers["X-Before"] == "kept"


@pytest.mark.parametrize(
    "args, status, message",
    [
        ("404", 404, "Not Found"),
        ("401, 'Login first'", 401, "Login first"),
        ("422, message='Bad field'", 422, "Bad field"),
        ("503", 503, "Service Unavailable"),
    ],
)
def test_http_error_status_and_default_message(make_client, args, status, message):
    client = make_client({"api/x.py": f"""
from nextapi import HTTPError
def handler(req, res):
    raise HTTPError({args})
"""})
    resp = client.get("/api/x")
    assert (resp.status, resp.json()) == (status, {"error": message})


def test_http_error_headers_as_pairs_repeat(make_client):
    client = make_client({"api/x.py": """
from nextapi import HTTPError
def handler(req, res):
    raise HTTPError(401, "No", headers=[("WWW-Authenticate", "Basic"), ("X-A", "1")])
"""})
    resp = client.get("/api/x")
    assert resp.headers["WWW-Authenticate"] == "Basic"
    assert resp.headers["X-A"] == "1"


def test_http_error_replaces_a_body_already_sent(make_client):
    client = make_client({"api/x.py": """
from nextapi import HTTPError
def handler(req, res):
    res.status(201).send("partial")
    raise HTTPError(409, "Conflict")
"""})
    resp = client.get("/api/x")
    assert (resp.status, resp.json()) == (409, {"error": "Conflict"})
    assert resp.headers["Content-Type"] == JSON_TYPE


def test_http_error_with_a_3xx_status_redirects(make_client):
    client = make_client({"api/x.py": """
from nextapi import HTTPError
def handler(req, res):
    raise HTTPError(302, "Found", headers={"Location": "/login"})
"""})
    resp = client.get("/api/x")
    assert (resp.status, resp.headers["Location"], resp.json()) == (302, "/login", {"error": "Found"})


@pytest.mark.parametrize("status", [200, 204, 99, 600])
def test_http_error_with_a_status_that_is_no_error_is_500(make_client, status):
    client = make_client({"api/x.py": f"""
from nextapi import HTTPError
def handler(req, res):
    raise HTTPError({status}, "odd")
"""})
    resp = client.get("/api/x")
    assert resp.status == 500
    assert resp.headers["Content-Type"] == JSON_TYPE


def test_http_error_is_not_raised_by_the_test_client(make_client):
    # It is an answer, not a bug: even raise_server_exceptions=True returns it.
    assert make_client({"api/x.py": RAISE_418}).get("/api/x").status == 418


MIDDLEWARE_ROUTES = {
    "api/_middleware.py": """
from nextapi import HTTPError
def middleware(req, res, next):
    res.set_header("Access-Control-Allow-Origin", "*")
    if req.headers.get("Authorization") != "Bearer ok":
        raise HTTPError(401, "Unauthorized", headers={"WWW-Authenticate": "Bearer"})
    return next()
""",
    "api/secret.py": "def handler(req, res):\n    res.json({'secret': 42})\n",
    "api/boom.py": "def handler(req, res):\n    raise RuntimeError('boom')\n",
    "api/deny.py": """
from nextapi import HTTPError
def handler(req, res):
    raise HTTPError(403, "Forbidden here")
""",
}


def test_http_error_from_middleware(make_client):
    client = make_client(MIDDLEWARE_ROUTES)
    resp = client.get("/api/secret")
    assert (resp.status, resp.json()) == (401, {"error": "Unauthorized"})
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    assert resp.headers["Content-Type"] == JSON_TYPE
    assert resp.headers["Access-Control-Allow-Origin"] == "*"  # set before raising: kept
    ok = client.get("/api/secret", headers={"Authorization": "Bearer ok"})
    assert (ok.status, ok.json()) == (200, {"secret": 42})


def test_http_error_under_middleware_keeps_middleware_headers(make_client):
    resp = make_client(MIDDLEWARE_ROUTES).get("/api/deny", headers={"Authorization": "Bearer ok"})
    assert (resp.status, resp.json()) == (403, {"error": "Forbidden here"})
    assert resp.headers["Access-Control-Allow-Origin"] == "*"


def test_http_error_from_nested_middleware(make_client):
    client = make_client({
        "api/admin/_middleware.py": """
from nextapi import HTTPError
def middleware(req, res, next):
    raise HTTPError(403, "Admins only", headers={"X-Gate": "admin"})
""",
        "api/admin/users.py": "def handler(req, res):\n    res.json([])\n",
        "api/public.py": "def handler(req, res):\n    res.json('open')\n",
    })
    resp = client.get("/api/admin/users")
    assert (resp.status, resp.json(), resp.headers["X-Gate"]) == (403, {"error": "Admins only"}, "admin")
    assert client.get("/api/public").json() == "open"


# --- R41: any other exception ---------------------------------------------------------------------


BOOM = """
def handler(req, res):
    res.set_header("X-Leak", "should-go")
    secret = "hunter2"
    raise KeyError("boom " + secret)
"""


def test_exception_is_a_500_without_details(make_client):
    client = make_client({"api/x.py": BOOM}, raise_server_exceptions=False)
    resp = client.get("/api/x")
    assert resp.status == 500
    assert resp.json() == {"error": "Internal Server Error"}
    assert resp.headers["Content-Type"] == JSON_TYPE
    assert "hunter2" not in resp.text and "Traceback" not in resp.text
    assert "X-Leak" not in resp.headers  # a half-built response is dropped


def test_exception_traceback_is_logged_on_the_nextapi_logger(make_client, caplog):
    make_client({"api/x.py": BOOM}, raise_server_exceptions=False).get("/api/x")
    records = error_records(caplog)
    assert len(records) == 1
    record = records[0]
    assert "/api/x" in record.getMessage()
    assert record.exc_info is not None and isinstance(record.exc_info[1], KeyError)
    assert "hunter2" in caplog.text and "Traceback" in caplog.text


def test_exception_in_middleware_is_a_500(make_client, caplog):
    client = make_client(MIDDLEWARE_ROUTES, raise_server_exceptions=False)
    resp = client.get("/api/boom", headers={"Authorization": "Bearer ok"})
    assert (resp.status, resp.json()) == (500, {"error": "Internal Server Error"})
    assert error_records(caplog)


def test_dev_mode_body_carries_exception_and_traceback(make_client):
    client = make_client({"api/x.py": BOOM}, dev=True, raise_server_exceptions=False)
    resp = client.get("/api/x")
    assert resp.status == 500
    assert resp.headers["Content-Type"] == JSON_TYPE
    body = resp.json()
    assert body["error"] == "Internal Server Error"
    assert "KeyError" in body["exception"] and "hunter2" in body["exception"]
    assert body["traceback"].startswith("Traceback")
    assert "hunter2" in body["traceback"] and "x.py" in body["traceback"]


def test_production_body_is_the_same_for_every_exception(make_client):
    client = make_client({
        "api/a.py": "def handler(req, res):\n    raise ValueError('a')\n",
        "api/b.py": "def handler(req, res):\n    1 / 0\n",
        "api/c.py": "def handler(req, res):\n    raise AssertionError\n",
    }, raise_server_exceptions=False)
    for path in ("/api/a", "/api/b", "/api/c"):
        resp = client.get(path)
        assert (resp.status, resp.content) == (500, b'{"error":"Internal Server Error"}')


# --- R42: every framework error is JSON -----------------------------------------------------------


ROUTES = {
    "api/items.py": "def get(req, res):\n    res.json([])\n",
    "api/body.py": "def handler(req, res):\n    res.json(req.body)\n",
    "api/boom.py": "def handler(req, res):\n    raise RuntimeError('x')\n",
    "api/badjson.py": "def handler(req, res):\n    res.json(object())\n",
}


@pytest.mark.parametrize(
    "method, path, kwargs, status, message",
    [
        ("GET", "/api/nope", {}, 404, "Not Found"),
        ("POST", "/api/nope/deeper", {}, 404, "Not Found"),
        ("DELETE", "/api/items", {}, 405, "Method Not Allowed"),
        ("POST", "/api/body", {"body": b"{bad", "headers": {"Content-Type": "application/json"}}, 400,
         "Invalid JSON"),
        ("POST", "/api/body", {"body": b"\xff", "headers": {"Content-Type": "text/plain"}}, 400,
         "Invalid body"),
        ("POST", "/api/body", {"body": b"x", "headers": {"Content-Length": "+1"}}, 400,
         "Invalid Content-Length"),
        ("GET", "/api/%FF", {}, 400, None),
        ("POST", "/api/body", {"body": b"x" * (1024 * 1024 + 1)}, 413, "Body exceeded 1mb limit"),
        ("GET", "/api/boom", {}, 500, "Internal Server Error"),
        ("GET", "/api/badjson", {}, 500, None),
    ],
)
def test_framework_errors_are_json(make_client, method, path, kwargs, status, message):
    client = make_client(ROUTES, raise_server_exceptions=False)
    resp = client.request(method, path, **kwargs)
    assert resp.status == status
    assert resp.headers["Content-Type"] == JSON_TYPE
    body = resp.json()
    assert list(body) == ["error"] and isinstance(body["error"], str) and body["error"]
    if message is not None:
        assert body["error"] == message
    assert resp.headers["Content-Length"] == str(len(resp.content))


def test_405_carries_allow(make_client):
    resp = make_client(ROUTES).post("/api/items")
    assert resp.headers["Allow"] == "GET, HEAD, OPTIONS"


def test_head_of_an_error_has_no_body(make_client):
    resp = make_client(ROUTES).head("/api/nope")
    assert (resp.status, resp.content) == (404, b"")
    assert resp.headers["Content-Type"] == JSON_TYPE


# --- R55: logging --------------------------------------------------------------------------------


def test_logs_go_through_the_standard_nextapi_logger(make_client, caplog):
    client = make_client({"api/x.py": BOOM}, raise_server_exceptions=False)
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    keep = Keep()
    logging.getLogger("nextapi").addHandler(keep)
    try:
        client.get("/api/x")
    finally:
        logging.getLogger("nextapi").removeHandler(keep)
    assert [r.levelname for r in seen] == ["ERROR"]
    assert seen[0].name == "nextapi"


# --- R40 (amended): an error body of the API's own shape ------------------------------------


@pytest.mark.parametrize("body", ["{'errors': [{'message': 'no'}]}", "{'message': 'gone'}", "['a', 1]", "'text'"])
def test_http_error_body_replaces_the_error_object(make_client, body):
    src = f"from nextapi import HTTPError\ndef handler(req, res):\n    raise HTTPError(409, 'x', body={body})\n"
    resp = make_client({"api/x.py": src}).get("/api/x")
    assert (resp.status, resp.headers["Content-Type"]) == (409, JSON_TYPE)
    assert resp.json() == eval(body)


def test_http_error_body_from_middleware_before_the_handler(make_client):
    mw = ("from nextapi import HTTPError\ndef middleware(req, res, next):\n"
          "    raise HTTPError(401, body={'errors': [{'message': 'login'}]}, headers={'WWW-Authenticate': 'Bearer'})\n")
    client = make_client({"api/_middleware.py": mw, "api/x.py": "def handler(req, res):\n    return 1\n"})
    resp = client.get("/api/x")
    assert (resp.status, resp.json(), resp.headers["WWW-Authenticate"]) == (
        401, {"errors": [{"message": "login"}]}, "Bearer")


# --- R41 (amended): a 500 keeps what middleware set before the handler ran ------------------

CORS_MW = """
def middleware(req, res, next):
    res.set_header("Access-Control-Allow-Origin", "https://app.example")
    res.set_header("X-Layer", "middleware")
    return next()
"""

FAILING = """
def handler(req, res):
    res.set_header("X-Handler", "dropped")
    res.set_header("X-Layer", "handler")
    raise RuntimeError("boom")
"""


def test_500_keeps_middleware_headers_and_drops_the_handlers(make_client):
    client = make_client({"api/_middleware.py": CORS_MW, "api/x.py": FAILING}, raise_server_exceptions=False)
    resp = client.get("/api/x")
    assert (resp.status, resp.json()) == (500, {"error": "Internal Server Error"})
    assert resp.headers["Access-Control-Allow-Origin"] == "https://app.example"  # the browser sees the 500
    assert resp.headers["X-Handler"] is None
    assert resp.headers["X-Layer"] == "middleware"  # overwritten by the handler: back to the middleware's
    assert resp.headers["Content-Type"] == JSON_TYPE


def test_500_after_next_returned_keeps_only_the_headers_set_before_the_handler(make_client):
    mw = ("def middleware(req, res, next):\n    res.set_header('X-Early', '1')\n    next()\n"
          "    res.set_header('X-Late', '1')\n    raise RuntimeError('after')\n")
    client = make_client({"api/_middleware.py": mw, "api/x.py": "def handler(req, res):\n"
                          "    res.set_header('X-Handler', '1')\n    return {'ok': 1}\n"},
                         raise_server_exceptions=False)
    resp = client.get("/api/x")
    assert resp.status == 500
    assert (resp.headers["X-Early"], resp.headers["X-Late"], resp.headers["X-Handler"]) == ("1", None, None)


def test_500_in_middleware_before_next_keeps_its_own_headers(make_client):
    mw = "def middleware(req, res, next):\n    res.set_header('X-Mw', '1')\n    raise RuntimeError('x')\n"
    client = make_client({"api/_middleware.py": mw, "api/x.py": "def handler(req, res):\n    return 1\n"},
                         raise_server_exceptions=False)
    resp = client.get("/api/x")
    assert (resp.status, resp.headers["X-Mw"]) == (500, "1")


# --- R75: in dev mode a browser gets the 500 as an HTML page ---------------------------------

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
FAILS = """
def helper(value):
    raise ValueError("bad <script>alert(1)</script> value: " + value)

def handler(req, res):
    res.set_header("X-Handler", "dropped")
    helper("x")
"""


def test_dev_500_for_a_browser_is_an_html_page_with_the_traceback_and_source(make_client):
    client = make_client({"api/x.py": FAILS}, dev=True, raise_server_exceptions=False)
    resp = client.post("/api/x?q=1", headers={"Accept": BROWSER})
    assert resp.status == 500 and resp.headers["Content-Type"] == "text/html; charset=utf-8"
    page = resp.text
    assert "ValueError: bad &lt;script&gt;" in page and "<script>alert" not in page  # escaped
    assert "POST /api/x" in page  # the request
    assert 'raise ValueError("bad' in page.replace("&quot;", '"') and "in helper" in page  # source lines, frames
    assert "x.py, line 3" in page


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/json, text/html;q=0.9",
                                    "text/html;q=0.5, application/json"])
def test_dev_500_stays_json_unless_html_is_preferred(make_client, accept):
    client = make_client({"api/x.py": FAILS}, dev=True, raise_server_exceptions=False)
    resp = client.get("/api/x", headers={"Accept": accept} if accept else {})
    assert resp.status == 500 and resp.headers["Content-Type"] == JSON_TYPE
    assert resp.json()["exception"].startswith("ValueError")


def test_production_500_for_a_browser_is_still_the_plain_json(make_client):
    client = make_client({"api/x.py": FAILS}, raise_server_exceptions=False)
    resp = client.get("/api/x", headers={"Accept": BROWSER})
    assert (resp.status, resp.headers["Content-Type"], resp.json()) == (500, JSON_TYPE,
                                                                        {"error": "Internal Server Error"})


def test_dev_broken_file_for_a_browser_is_an_html_page_naming_file_and_line(make_client):
    client = make_client({"api/ok.py": "def get(req, res):\n    return 1\n",
                          "api/bad.py": "def get(req, res):\n    return (\n"}, dev=True,
                         raise_server_exceptions=False)
    resp = client.get("/api/bad", headers={"Accept": BROWSER})
    assert resp.status == 500 and resp.headers["Content-Type"].startswith("text/html")
    assert "SyntaxError" in resp.text and "bad.py" in resp.text
    assert client.get("/api/ok").status == 200
