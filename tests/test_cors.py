"""R101: nextapi.cors(origins, *, methods, headers, credentials, max_age, expose_headers).

Through nextapi.testing.Client (so every exchange passes wsgiref.validate), as
app middleware (App(middleware=[...])), as `middleware = cors(...)` in a
_middleware.py, and as a decorator on sync and async handlers.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nextapi import App, cors
from nextapi.batteries.cors import DEFAULT_METHODS
from nextapi.testing import Client
from tests.helpers import write_tree

APP = "https://app.example"
EVIL = "https://evil.example"
CORS_HEADERS = ("Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods",
                "Access-Control-Allow-Headers", "Access-Control-Max-Age", "Access-Control-Expose-Headers")

ROUTES = {
    "api/items.py": """
        def get(req, res):
            return {"items": [1, 2]}

        def post(req, res):
            return {"got": req.body}

        def delete(req, res):
            res.status(204).end()

        def options(req, res):  # a preflight never reaches it
            raise RuntimeError("the handler ran on a preflight")
    """,
    "api/plain.py": """
        def get(req, res):
            return {"plain": True}
    """,
    "api/any.py": """
        def handler(req, res):
            return {"method": req.method}
    """,
    "api/strict.py": """
        def handler(req, res):
            raise RuntimeError("the handler ran")
    """,
    "api/boom.py": """
        def get(req, res):
            res.set_header("X-Handler", "1")
            raise RuntimeError("boom")
    """,
    "api/teapot.py": """
        from nextapi import HTTPError

        def get(req, res):
            raise HTTPError(418, "I'm a teapot")
    """,
    "api/upload.py": """
        def post(req, res):
            return {"n": len(req.body)}
    """,
    "api/vary.py": """
        def get(req, res):
            return {"vary": res.get_header("Vary")}
    """,
}


def client(tmp_path: Path, *middleware: Any, files: dict[str, str] | None = None, **kw: Any) -> Client:
    pages = write_tree(tmp_path, files if files is not None else ROUTES)
    return Client(App(pages, middleware=list(middleware)), **kw)


def preflight(c: Client, path: str, method: str = "POST", origin: str = APP, headers: str | None = None) -> Any:
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        h["Access-Control-Request-Headers"] = headers
    return c.options(path, headers=h)


def no_cors(resp: Any) -> None:
    present = [name for name in CORS_HEADERS if name in resp.headers]
    assert present == [], (present, resp.headers.items())


# -- making it --------------------------------------------------------------------------------
def test_a_wildcard_with_credentials_is_refused_when_made() -> None:
    with pytest.raises(ValueError, match="credentials"):
        cors("*", credentials=True)


@pytest.mark.parametrize("bad", ["https://app.example/", "https://app.example/path", "app.example", "", "*x",
                                 "https://a.example\r\nX: 1", "https://a b.example"])
def test_an_origin_that_no_browser_sends_is_refused_when_made(bad: str) -> None:
    with pytest.raises(ValueError, match="origin"):
        cors([bad])


def test_a_star_inside_a_list_is_refused() -> None:
    with pytest.raises(ValueError, match="alone"):
        cors([APP, "*"])


@pytest.mark.parametrize("kw", [{"methods": ["GE T"]}, {"headers": ["X-A\r\nX-B"]}, {"expose_headers": ["a:b"]},
                                {"max_age": -1}, {"max_age": "600"}, {"max_age": True}])
def test_bad_options_are_refused_when_made(kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        cors("*", **kw)


# -- simple requests ----------------------------------------------------------------------------
def test_wildcard_answers_any_origin_with_a_star(tmp_path: Path) -> None:
    resp = client(tmp_path, cors("*")).get("/api/items", headers={"Origin": EVIL})
    assert resp.status == 200 and resp.json() == {"items": [1, 2]}
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Credentials" not in resp.headers


def test_a_listed_origin_gets_itself_back(tmp_path: Path) -> None:
    c = client(tmp_path, cors([APP, "http://localhost:3000"]))
    for origin in (APP, "http://localhost:3000"):
        resp = c.get("/api/items", headers={"Origin": origin})
        assert resp.headers["Access-Control-Allow-Origin"] == origin
        assert resp.headers["Vary"] == "Origin"


def test_a_single_origin_string_is_a_list_of_one(tmp_path: Path) -> None:
    c = client(tmp_path, cors(APP))
    assert c.get("/api/items", headers={"Origin": APP}).headers["Access-Control-Allow-Origin"] == APP
    no_cors(c.get("/api/items", headers={"Origin": EVIL}))


def test_listed_origins_are_matched_as_browsers_send_them(tmp_path: Path) -> None:
    c = client(tmp_path, cors(["https://App.Example"]))  # browsers send scheme and host in lower case
    assert c.get("/api/items", headers={"Origin": APP}).headers["Access-Control-Allow-Origin"] == APP
    for near in ("https://app.example.evil.example", "http://app.example", "https://app.example:8443",
                 "https://app.exampl", "https://app.example, https://evil.example"):
        no_cors(c.get("/api/items", headers={"Origin": near}))


def test_a_disallowed_origin_gets_no_cors_header_but_vary(tmp_path: Path) -> None:
    c = client(tmp_path, cors([APP], credentials=True, expose_headers=["X-Total"]))
    resp = c.get("/api/items", headers={"Origin": EVIL})
    assert resp.status == 200 and resp.json() == {"items": [1, 2]}
    no_cors(resp)
    assert resp.headers["Vary"] == "Origin"  # the answer depends on Origin: caches must know


def test_no_origin_no_cors_header(tmp_path: Path) -> None:
    for mw in (cors("*"), cors([APP]), cors(lambda o: True)):
        resp = client(tmp_path, mw).get("/api/items")
        assert resp.status == 200
        no_cors(resp)
        assert resp.headers["Vary"] == "Origin"


def test_a_function_decides(tmp_path: Path) -> None:
    seen: list[str] = []

    def allow(origin: str) -> bool:
        seen.append(origin)
        return origin.endswith(".app.example")

    c = client(tmp_path, cors(allow))
    ok = c.get("/api/items", headers={"Origin": "https://preview-7.app.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://preview-7.app.example"
    no_cors(c.get("/api/items", headers={"Origin": EVIL}))
    assert seen == ["https://preview-7.app.example", EVIL]


def test_a_function_never_sees_a_malformed_origin(tmp_path: Path) -> None:
    seen: list[str] = []
    c = client(tmp_path, cors(lambda o: seen.append(o) or True))
    for bad in ("https://a.example\r\nSet-Cookie: x=1", "https://a.example/path", "x" * 5000,
                "https://a.example, https://b.example", "javascript:alert(1)"):
        resp = c.get("/api/items", headers={"Origin": bad})
        assert resp.status == 200
        no_cors(resp)
        assert "Set-Cookie" not in resp.headers
    assert seen == []


def test_null_origin(tmp_path: Path) -> None:
    assert client(tmp_path, cors("*")).get("/api/items", headers={"Origin": "null"}) \
        .headers["Access-Control-Allow-Origin"] == "*"
    no_cors(client(tmp_path, cors([APP])).get("/api/items", headers={"Origin": "null"}))


def test_credentials_echo_the_origin_and_say_true(tmp_path: Path) -> None:
    resp = client(tmp_path, cors([APP], credentials=True)).get("/api/items", headers={"Origin": APP})
    assert resp.headers["Access-Control-Allow-Origin"] == APP
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"


def test_expose_headers(tmp_path: Path) -> None:
    c = client(tmp_path, cors("*", expose_headers=["X-Total-Count", "ETag"]))
    resp = c.get("/api/items", headers={"Origin": APP})
    assert resp.headers["Access-Control-Expose-Headers"] == "X-Total-Count, ETag"
    assert "Access-Control-Expose-Headers" not in client(tmp_path, cors("*")).get(
        "/api/items", headers={"Origin": APP}).headers


def test_vary_is_appended_to_what_is_there(tmp_path: Path) -> None:
    def outer(req, res, next):
        res.set_header("Vary", "Accept-Language")
        return next()

    resp = client(tmp_path, outer, cors([APP])).get("/api/vary", headers={"Origin": APP})
    assert resp.headers["Vary"] == "Accept-Language, Origin"
    assert resp.json() == {"vary": "Accept-Language, Origin"}  # set before the handler ran

    def star(req, res, next):
        res.set_header("Vary", "*")
        return next()

    assert client(tmp_path, star, cors([APP])).get("/api/vary", headers={"Origin": APP}).headers["Vary"] == "*"
    twice = client(tmp_path, cors([APP]), cors([APP])).get("/api/vary", headers={"Origin": APP})
    assert twice.headers.get_all("Vary") == ["Origin"]


def test_head_gets_the_headers_too(tmp_path: Path) -> None:
    c = client(tmp_path, cors([APP]))
    get, head = (c.request(m, "/api/items", headers={"Origin": APP}) for m in ("GET", "HEAD"))
    assert head.status == 200 and head.content == b""
    assert head.headers.items() == get.headers.items()


# -- errors carry the headers ---------------------------------------------------------------------
def test_errors_carry_the_headers(tmp_path: Path) -> None:
    c = client(tmp_path, cors([APP], credentials=True), raise_server_exceptions=False)
    h = {"Origin": APP}
    cases = {
        "404": c.get("/api/nope", headers=h),
        "405": c.put("/api/items", headers=h, json={}),
        "413": c.post("/api/upload", headers=h, body=b"x" * (2 << 20)),
        "418": c.get("/api/teapot", headers=h),
        "500": c.get("/api/boom", headers=h),
    }
    for status, resp in cases.items():
        assert resp.status == int(status), (status, resp.status)
        assert resp.headers["Access-Control-Allow-Origin"] == APP, status
        assert resp.headers["Access-Control-Allow-Credentials"] == "true", status
        assert resp.headers["Vary"] == "Origin", status
        assert resp.headers["Content-Type"].startswith("application/json")
    assert "X-Handler" not in cases["500"].headers  # the handler's own headers go, ours stay
    assert cases["405"].headers["Allow"] == "DELETE, GET, HEAD, OPTIONS, POST"


def test_a_disallowed_origin_gets_plain_errors(tmp_path: Path) -> None:
    c = client(tmp_path, cors([APP]), raise_server_exceptions=False)
    for path in ("/api/nope", "/api/boom"):
        no_cors(c.get(path, headers={"Origin": EVIL}))


# -- preflights --------------------------------------------------------------------------------------
def test_a_preflight_is_answered_204_and_the_handler_never_runs(tmp_path: Path) -> None:
    c = client(tmp_path, cors([APP], credentials=True))
    resp = preflight(c, "/api/items", "DELETE", headers="Content-Type, X-Token")
    assert resp.status == 204 and resp.content == b""
    assert resp.headers["Access-Control-Allow-Origin"] == APP
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert resp.headers["Access-Control-Allow-Methods"] == "DELETE, GET, HEAD, OPTIONS, POST"  # the route's
    assert resp.headers["Access-Control-Allow-Headers"] == "content-type, x-token"
    assert resp.headers["Access-Control-Max-Age"] == "600"
    assert resp.headers["Vary"] == "Origin, Access-Control-Request-Headers"
    assert "Content-Type" not in resp.headers and "Content-Length" not in resp.headers
    assert "Access-Control-Expose-Headers" not in resp.headers


def test_a_preflight_never_runs_a_catch_all_handler(tmp_path: Path) -> None:
    c = client(tmp_path, cors("*"))  # the client raises what a handler raised: it did not run
    resp = c.options("/api/strict", headers={"Origin": APP, "Access-Control-Request-Method": "PUT"})
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Methods"] == "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"


def test_a_preflight_for_a_path_no_route_takes(tmp_path: Path) -> None:
    c = client(tmp_path, cors("*"))
    resp = preflight(c, "/api/nope", "PUT")
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Methods"] == DEFAULT_METHODS
    # the real request then gets its 404, readable by the page
    assert c.put("/api/nope", headers={"Origin": APP}).headers["Access-Control-Allow-Origin"] == "*"
    given = preflight(client(tmp_path, cors("*", methods=["get", "post"])), "/api/nope", "POST")
    assert given.headers["Access-Control-Allow-Methods"] == "GET, POST"


def test_given_methods_and_headers_win(tmp_path: Path) -> None:
    c = client(tmp_path, cors([APP], methods=("GET", "POST"), headers=["Content-Type", "Authorization"],
                             max_age=3600))
    resp = preflight(c, "/api/items", "POST", headers="X-Other")
    assert resp.headers["Access-Control-Allow-Methods"] == "GET, POST"
    assert resp.headers["Access-Control-Allow-Headers"] == "Content-Type, Authorization"
    assert resp.headers["Access-Control-Max-Age"] == "3600"
    assert resp.headers["Vary"] == "Origin"
    bare = preflight(c, "/api/items", "POST")  # given headers are sent even when none were asked for
    assert bare.headers["Access-Control-Allow-Headers"] == "Content-Type, Authorization"
    assert cors("*", headers="Content-Type, X-Token").headers == "Content-Type, X-Token"


def test_max_age_none_leaves_it_out(tmp_path: Path) -> None:
    resp = preflight(client(tmp_path, cors("*", max_age=None)), "/api/items")
    assert resp.status == 204 and "Access-Control-Max-Age" not in resp.headers


def test_a_preflight_without_requested_headers_allows_none(tmp_path: Path) -> None:
    resp = preflight(client(tmp_path, cors("*")), "/api/items", "DELETE")
    assert resp.status == 204 and "Access-Control-Allow-Headers" not in resp.headers


def test_requested_headers_are_echoed_tidied(tmp_path: Path) -> None:
    resp = preflight(client(tmp_path, cors("*")), "/api/items", headers=" X-A ,x-b,, X-A,Content-Type,")
    assert resp.headers["Access-Control-Allow-Headers"] == "x-a, x-b, content-type"


@pytest.mark.parametrize("hostile", [
    "x" * 5000,
    ", ".join(f"x-h{i}" for i in range(100)),
    "x-a\r\nSet-Cookie: evil=1",
    "x-a\nx-b",
    "x-a, <script>",
    "x a",
    "x-a; q=1",
    "x-a\x00",
    "x-\u00e9",
    '"x-a"',
])
def test_a_hostile_header_list_gets_no_echo(tmp_path: Path, hostile: str) -> None:
    resp = preflight(client(tmp_path, cors("*")), "/api/items", headers=hostile)
    assert resp.status == 204
    assert "Access-Control-Allow-Headers" not in resp.headers
    assert "Set-Cookie" not in resp.headers
    assert resp.headers["Access-Control-Allow-Origin"] == "*"  # the rest of the answer stands


def test_a_preflight_from_a_disallowed_origin_is_a_plain_options(tmp_path: Path) -> None:
    c = client(tmp_path, cors([APP]), raise_server_exceptions=False)
    plain = preflight(c, "/api/plain", origin=EVIL)  # the route's own OPTIONS answer
    assert plain.status == 204 and plain.headers["Allow"] == "GET, HEAD, OPTIONS"
    no_cors(plain)
    caught = c.options("/api/any", headers={"Origin": EVIL, "Access-Control-Request-Method": "PUT"})
    assert caught.json() == {"method": "OPTIONS"}  # a handler for every method answers it as usual
    no_cors(caught)
    no_cors(preflight(c, "/api/nope", origin=EVIL))


def test_options_without_a_request_method_is_not_a_preflight(tmp_path: Path) -> None:
    resp = client(tmp_path, cors([APP])).options("/api/plain", headers={"Origin": APP})
    assert resp.status == 204 and resp.headers["Allow"] == "GET, HEAD, OPTIONS"  # the route's answer
    assert resp.headers["Access-Control-Allow-Origin"] == APP
    assert "Access-Control-Allow-Methods" not in resp.headers


# -- the three ways to use it ----------------------------------------------------------------------------
def test_in_a_folder_middleware(tmp_path: Path) -> None:
    files = {**ROUTES, "api/_middleware.py": f"from nextapi import cors\nmiddleware = cors([{APP!r}])\n"}
    c = client(tmp_path, files=files, raise_server_exceptions=False)
    assert c.get("/api/items", headers={"Origin": APP}).headers["Access-Control-Allow-Origin"] == APP
    assert c.get("/api/boom", headers={"Origin": APP}).headers["Access-Control-Allow-Origin"] == APP
    pre = preflight(c, "/api/items", "DELETE", headers="X-Token")
    assert (pre.status, pre.headers["Access-Control-Allow-Headers"]) == (204, "x-token")
    no_cors(c.get("/api/items", headers={"Origin": EVIL}))


def test_in_an_async_folder_middleware_chain(tmp_path: Path) -> None:
    files = {
        "api/_middleware.py": "from nextapi import cors\nmiddleware = cors('*')\n",
        "api/inner/_middleware.py": "async def middleware(req, res, next):\n"
                                    "    res.set_header('X-Inner', '1')\n    return await next()\n",
        "api/inner/data.py": "async def get(req, res):\n    return {'async': True}\n",
    }
    c = client(tmp_path, files=files)
    resp = c.get("/api/inner/data", headers={"Origin": APP})
    assert resp.json() == {"async": True}
    assert resp.headers["Access-Control-Allow-Origin"] == "*" and resp.headers["X-Inner"] == "1"
    assert preflight(c, "/api/inner/data").status == 204


@pytest.mark.parametrize("kind", ["def", "async def"])
def test_as_a_decorator(tmp_path: Path, kind: str) -> None:
    files = {
        "api/deco.py": f"""
            from nextapi import cors

            @cors([{APP!r}], credentials=True)
            {kind} handler(req, res):
                if req.query.get("fail"):
                    res.set_header("X-Handler", "1")
                    raise RuntimeError("boom")
                return {{"method": req.method}}
        """,
        "api/get_only.py": f"""
            from nextapi import cors

            @cors("*")
            {kind} get(req, res):
                return {{"get": True}}
        """,
    }
    c = client(tmp_path, files=files, raise_server_exceptions=False)
    ok = c.get("/api/deco", headers={"Origin": APP})
    assert ok.json() == {"method": "GET"}
    assert ok.headers["Access-Control-Allow-Origin"] == APP
    assert ok.headers["Access-Control-Allow-Credentials"] == "true"
    failed = c.get("/api/deco?fail=1", headers={"Origin": APP})
    assert failed.status == 500
    assert failed.headers["Access-Control-Allow-Origin"] == APP  # kept on the 500, as for middleware
    assert failed.headers["Vary"] == "Origin" and "X-Handler" not in failed.headers
    pre = preflight(c, "/api/deco", "PUT", headers="Content-Type")
    assert pre.status == 204 and pre.content == b""
    assert pre.headers["Access-Control-Allow-Methods"] == "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
    assert pre.headers["Access-Control-Allow-Headers"] == "content-type"
    no_cors(c.get("/api/deco", headers={"Origin": EVIL}))
    # on a method function it covers that method: a simple GET is readable cross-origin
    assert c.get("/api/get_only", headers={"Origin": APP}).headers["Access-Control-Allow-Origin"] == "*"


def test_as_app_middleware_around_async_handlers(tmp_path: Path) -> None:
    files = {"api/a.py": "async def get(req, res):\n    return {'a': 1}\n"
                         "async def post(req, res):\n    raise RuntimeError('x')\n"}
    c = client(tmp_path, cors([APP]), files=files, raise_server_exceptions=False)
    assert c.get("/api/a", headers={"Origin": APP}).headers["Access-Control-Allow-Origin"] == APP
    failed = c.post("/api/a", headers={"Origin": APP}, json={})
    assert failed.status == 500 and failed.headers["Access-Control-Allow-Origin"] == APP
    assert preflight(c, "/api/a").headers["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS, POST"


def test_a_callable_origin_that_fails_is_a_500(tmp_path: Path) -> None:
    def broken(origin: str) -> bool:
        raise RuntimeError("no database")

    resp = client(tmp_path, cors(broken), raise_server_exceptions=False).get("/api/items",
                                                                             headers={"Origin": APP})
    assert resp.status == 500 and resp.json() == {"error": "Internal Server Error"}


def test_repr() -> None:
    assert repr(cors([APP])) == f"cors([{APP!r}], credentials=False)"
    assert "'*'" in repr(cors("*"))
    with pytest.raises(ValueError, match="not an origin"):
        cors([42])  # type: ignore[list-item]
