"""The App dispatches a request to its handler module (R10): handler() or method functions,
405 with Allow, HEAD and OPTIONS, a module's `methods = [...]`, and the method decided before
any body limit; and whatever a request holds, the App never answers it with a 500 (a property).
"""
from __future__ import annotations

import io
from wsgiref.validate import validator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nextapi import App
from tests.helpers import write_tree
from tests.strategies import LATIN1, SOME

METHOD_FUNCS = """
def get(req, res):
    res.json({"method": req.method})

def post(req, res):
    res.status(201).json({"created": req.body})
"""


# R10 ----------------------------------------------------------------------
def test_handler_gets_every_method(make_client):
    client = make_client({"api/any.py": "def handler(req, res):\n    res.send(req.method)\n"})
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        resp = client.request(method, "/api/any")
        assert (resp.status, resp.text) == (200, method)


def test_method_functions_dispatch_by_method(make_client):
    client = make_client({"api/items.py": METHOD_FUNCS})
    assert client.get("/api/items").json() == {"method": "GET"}
    resp = client.post("/api/items", json={"a": 1})
    assert (resp.status, resp.json()) == (201, {"created": {"a": 1}})


def test_undefined_method_is_405_with_allow(make_client):
    client = make_client({"api/items.py": METHOD_FUNCS})
    resp = client.delete("/api/items")
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    assert resp.json() == {"error": "Method Not Allowed"}
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert client.request("TRACE", "/api/items").status == 405


def test_head_falls_back_to_get_without_a_body(make_client):
    client = make_client({"api/items.py": "def get(req, res):\n    res.json({'items': [1, 2, 3]})\n"})
    get = client.get("/api/items")
    head = client.head("/api/items")
    assert head.status == 200
    assert head.content == b""
    assert head.headers["Content-Length"] == get.headers["Content-Length"]
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Content-Type"] == "application/json; charset=utf-8"


def test_head_on_a_handler_module_runs_it_and_drops_the_body(make_client):
    client = make_client({"api/h.py": "def handler(req, res):\n    res.send('x' * 10)\n"})
    resp = client.head("/api/h")
    assert (resp.status, resp.content, resp.headers["Content-Length"]) == (200, b"", "10")


def test_options_answers_204_with_allow(make_client):
    client = make_client({"api/items.py": METHOD_FUNCS})
    resp = client.options("/api/items")
    assert resp.status == 204
    assert resp.headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    assert resp.content == b""
    assert "Content-Type" not in resp.headers


def test_own_options_and_head_functions_are_used(make_client):
    client = make_client({"api/c.py": """
def get(req, res):
    res.send("get")

def head(req, res):
    res.set_header("X-Head", "1").end()

def options(req, res):
    res.set_header("Access-Control-Allow-Origin", "*").status(200).send("opts")
"""})
    assert client.head("/api/c").headers["X-Head"] == "1"
    resp = client.options("/api/c")
    assert (resp.status, resp.text, resp.headers["Access-Control-Allow-Origin"]) == (200, "opts", "*")


# R10 (amended): a handler module's `methods`, and the method decided before any body limit
LIMITED = "methods = ['GET', 'post']\ndef handler(req, res):\n    return {'m': req.method}\n"


def test_handler_module_methods_limit_what_it_answers(make_client):
    client = make_client({"api/l.py": LIMITED})
    assert client.get("/api/l").json() == {"m": "GET"}
    assert client.post("/api/l").json() == {"m": "POST"}
    head = client.head("/api/l")  # HEAD comes with GET
    assert (head.status, head.content) == (200, b"")
    for method in ("PUT", "PATCH", "DELETE"):
        resp = client.request(method, "/api/l")
        assert (resp.status, resp.json(), resp.headers["Allow"]) == (
            405, {"error": "Method Not Allowed"}, "GET, HEAD, OPTIONS, POST")
    opt = client.options("/api/l")  # not listed: answered for it
    assert (opt.status, opt.headers["Allow"], opt.content) == (204, "GET, HEAD, OPTIONS, POST", b"")


def test_listed_options_reaches_the_handler(make_client):
    client = make_client({"api/o.py": "methods = ['OPTIONS', 'PUT']\ndef handler(req, res):\n"
                                      "    return {'m': req.method}\n"})
    assert client.options("/api/o").json() == {"m": "OPTIONS"}
    assert client.get("/api/o").headers["Allow"] == "OPTIONS, PUT"


@pytest.mark.parametrize("files, path", [
    ({"api/g.py": "def get(req, res):\n    return 1\n"}, "/api/g"),
    ({"api/l.py": LIMITED}, "/api/l"),
])
def test_a_2mb_put_to_a_route_without_put_is_405_not_413(make_client, files, path):
    resp = make_client(files).put(path, body=b"x" * (2 << 20), headers={"content-type": "application/json"})
    assert resp.status == 405 and "PUT" not in resp.headers["Allow"]


def test_unterminated_chunked_input_is_411_before_the_handler(make_client):
    client = make_client({"api/c.py": "def post(req, res):\n    raise AssertionError('ran')\n"})
    resp = client.post("/api/c", body=b"{}", headers={"transfer-encoding": "chunked"},
                       environ={"CONTENT_LENGTH": ""})
    assert (resp.status, resp.json()) == (411, {"error": "Length Required"})


# --- properties (Hypothesis, issue 5); their strategies are in tests/strategies.py ---------------


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    pages = write_tree(tmp_path_factory.mktemp("props"), {
        "api/echo.py": """
            def handler(req, res):
                return {"q": len(req.query), "c": len(req.cookies), "b": type(req.body).__name__,
                        "f": len(req.files)}
        """,
        "api/items/[id].py": "def get(req, res):\n    return {'id': req.query['id']}\n",
        "api/files/[...path].py": "def get(req, res):\n    return {'n': len(req.query['path'])}\n",
    })
    return validator(App(pages))


@SOME
@given(st.sampled_from(["/api/echo", "/api/items/", "/api/files/", "/", "/api/"]), LATIN1, LATIN1, LATIN1,
       st.binary(max_size=200), st.sampled_from(["application/json", "multipart/form-data; boundary=B",
                                                 "application/x-www-form-urlencoded", "text/plain"]),
       st.sampled_from(["GET", "POST", "HEAD", "OPTIONS"]))
def test_app_never_answers_500(fuzz_app, prefix, path, qs, cookie, body, ctype, method):
    started: list[str] = []

    def start_response(status, headers, exc_info=None):
        started.append(status)
        return lambda data: None

    env = {
        "REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": prefix + path, "QUERY_STRING": qs,
        "SERVER_NAME": "t", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_COOKIE": cookie,
        "CONTENT_TYPE": ctype, "CONTENT_LENGTH": str(len(body)), "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
    }
    result = fuzz_app(env, start_response)
    try:
        b"".join(result)
    finally:
        result.close()
    assert int(started[0][:3]) < 500, (started, env["PATH_INFO"])
    assert "nextapi.exception" not in env


# R100: app-level middleware around every API request, and req.ip ----------------------------
def _tag(name):
    def middleware(req, res, next):
        res.set_header(f"X-{name}", ",".join(filter(None, [res.get_header("X-Order"), name])))
        res.set_header("X-Order", ",".join(filter(None, [res.get_header("X-Order"), name])))
        return next()
    return middleware


APP_TREE = {
    "api/_middleware.py": "def middleware(req, res, next):\n    res.set_header('X-Folder', 'yes')\n    return next()\n",
    "api/get_only.py": "def get(req, res):\n    return {'order': res.get_header('X-Order'), 'ip': req.ip}\n",
}


def test_app_middleware_runs_outermost_first_around_folder_middleware(tmp_path):
    from nextapi.testing import Client
    client = Client(App(write_tree(tmp_path, APP_TREE), middleware=[_tag("One"), _tag("Two")]))
    resp = client.get("/api/get_only")
    assert resp.json() == {"order": "One,Two", "ip": "127.0.0.1"}
    assert resp.headers["X-Folder"] == "yes"


@pytest.mark.parametrize("method, path, kwargs, status", [
    ("GET", "/api/nope", {}, 404),  # no route at all
    ("GET", "/api", {}, 404),
    ("DELETE", "/api/get_only", {}, 405),
    ("PUT", "/api/get_only", {"body": b"x" * (2 << 20)}, 405),
    ("GET", "/api/get_only", {}, 200),
])
def test_app_middleware_sees_matched_and_unmatched_requests(tmp_path, method, path, kwargs, status):
    from nextapi.testing import Client
    client = Client(App(write_tree(tmp_path, APP_TREE), middleware=[_tag("One")]))
    resp = client.request(method, path, **kwargs)
    assert resp.status == status and resp.headers["X-One"] == "One"
    if status != 200:
        assert resp.headers["Content-Type"].startswith("application/json") and "error" in resp.json()


def test_app_middleware_sees_a_413(tmp_path):
    from nextapi.testing import Client
    tree = {"api/up.py": "def post(req, res):\n    return req.body\n"}
    client = Client(App(write_tree(tmp_path, tree), middleware=[_tag("One")]))
    resp = client.post("/api/up", body=b"x" * (2 << 20), headers={"content-type": "text/plain"})
    assert (resp.status, resp.headers["X-One"]) == (413, "One")


def test_app_middleware_can_answer_itself(tmp_path):
    from nextapi.testing import Client

    def gate(req, res, next):
        if req.headers.get("x-key") != "k":
            res.status(401).json({"error": "no key"})
            return None
        return next()

    client = Client(App(write_tree(tmp_path, APP_TREE), middleware=[gate]))
    assert client.get("/api/get_only").status == 401
    assert client.get("/api/nope").status == 401  # before routing: even an unknown path
    assert client.get("/api/get_only", headers={"x-key": "k"}).status == 200


@pytest.mark.parametrize("remote, forwarded, trusted, ip", [
    ("203.0.113.9", None, (), "203.0.113.9"),
    ("203.0.113.9", "1.2.3.4", (), "203.0.113.9"),  # no trusted proxies: the header is ignored
    ("203.0.113.9", "1.2.3.4", ("10.0.0.0/8",), "203.0.113.9"),  # spoofed by an untrusted peer
    ("10.0.0.2", "1.2.3.4", ("10.0.0.0/8",), "1.2.3.4"),
    ("10.0.0.2", "6.6.6.6, 1.2.3.4", ("10.0.0.0/8",), "1.2.3.4"),  # the client forged the left entry
    ("10.0.0.2", "1.2.3.4, 10.0.0.7", ("10.0.0.0/8",), "1.2.3.4"),  # two proxies of ours
    ("10.0.0.2", "10.0.0.9, 10.0.0.7", ("10.0.0.0/8",), "10.0.0.9"),  # all ours: the left-most
    ("10.0.0.2", "not-an-ip", ("10.0.0.0/8",), "10.0.0.2"),
    ("::1", "2001:db8::1", ("::1",), "2001:db8::1"),
    ("127.0.0.1", "1.2.3.4", ("127.0.0.1",), "1.2.3.4"),
])
def test_req_ip_honours_x_forwarded_for_only_from_trusted_proxies(tmp_path, remote, forwarded, trusted, ip):
    from nextapi.testing import Client
    client = Client(App(write_tree(tmp_path, APP_TREE), trusted_proxies=trusted))
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    assert client.get("/api/get_only", headers=headers, environ={"REMOTE_ADDR": remote}).json()["ip"] == ip


def test_a_bad_trusted_proxy_is_an_error_at_start_up(tmp_path):
    with pytest.raises(ValueError, match="trusted_proxies"):
        App(write_tree(tmp_path, APP_TREE), trusted_proxies=["10.0.0.0/33"])


# --- R3/R4: a 404 for a path no route takes, answered again from memory (issue 15) ---------------

def test_a_repeated_404_answers_the_same_and_every_method_keeps_its_own(make_client):
    client = make_client({"api/a.py": "def get(req, res):\n    return {'a': 1}\n"})
    first = client.get("/api/nope/deeper")
    again = client.get("/api/nope/deeper")
    assert (first.status, first.json(), first.headers.get_all("Content-Length")) == (404, {"error": "Not Found"}, ["21"])
    assert (again.status, again.content, list(again.headers.items())) == (first.status, first.content, list(first.headers.items()))
    head = client.request("HEAD", "/api/nope/deeper")
    assert (head.status, head.content) == (404, b"")
    assert client.post("/api/nope/deeper", json={}).json() == {"error": "Not Found"}
    assert client.get("/api/nope/deeper?" + "q=" + "x" * 9000).status == 414  # the query limit still comes first
    assert client.get("/api/a").json() == {"a": 1}


def test_a_404_never_hides_a_route_an_encoded_slash_would_reach(make_client):
    client = make_client({"api/p/[id].py": "def get(req, res):\n    return req.query\n"})
    assert client.get("/api/p/a/b").status == 404  # no raw target: two segments
    assert client.get("/api/p/a/b").status == 404
    assert client.get("/api/p/a%2Fb").json() == {"id": "a/b"}  # the raw target keeps the slash inside


def test_in_dev_mode_a_404_path_answers_once_its_file_exists(make_client, tmp_path):
    client = make_client({"api/a.py": "def get(req, res):\n    return 1\n"}, dev=True)
    assert client.get("/api/late").status == 404
    (tmp_path / "pages" / "api" / "late.py").write_text("def get(req, res):\n    return 2\n")
    assert client.get("/api/late").json() == 2


def test_app_middleware_sees_every_404(tmp_path):
    from nextapi.testing import Client

    seen: list[str] = []

    def count(req, res, next):
        seen.append(req.path)
        return next()

    client = Client(App(write_tree(tmp_path, {"api/a.py": "def get(req, res):\n    return 1\n"}), middleware=[count]))
    assert [client.get("/api/nope").status for _ in range(3)] == [404, 404, 404]
    assert seen == ["/api/nope"] * 3


def test_remembered_404s_are_bounded(tmp_path):
    from nextapi.testing import Client

    app = App(write_tree(tmp_path, {"api/a.py": "def get(req, res):\n    return 1\n"}))
    client = Client(app)
    assert {client.get(f"/api/n{i}").status for i in range(1100)} == {404}
    assert app._misses is not None and len(app._misses) <= 1024
