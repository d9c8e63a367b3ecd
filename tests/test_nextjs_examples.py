"""The ports of Next.js's API-route examples in samples/nextjs/ answer as the originals do.

Each folder is one example of the Next.js repository (examples/api-routes,
api-routes-rest, api-routes-cors, api-routes-middleware), ported route for route
with `async def` handlers. The answers checked here are the ones the original
routes give and its pages show: the people list and one person (or the 404
message), the users and one user with GET, PUT and the 405 with `Allow`, the
CORS headers on a preflight and on a GET, the cookie that is set.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from nextapi import App
from nextapi.testing import Client
from tests.helpers import ROOT

SAMPLES = ROOT / "samples" / "nextjs"
EXAMPLES = ["api-routes", "api-routes-rest", "api-routes-cors", "api-routes-middleware"]


def client_for(example: str) -> Client:
    return Client(App(SAMPLES / example / "pages"))


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_builds_and_checks_clean(example: str) -> None:
    pages = SAMPLES / example / "pages"
    assert App.check(pages) == []
    app = App(pages)  # imports every route: its relative imports resolve
    assert app.routes


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_route_is_async(example: str) -> None:
    """The ports are `async def`, line for line with the originals' handlers."""
    for file in (SAMPLES / example / "pages" / "api").rglob("*.py"):
        if not file.name.startswith("_"):
            assert "async def handler(" in file.read_text(encoding="utf-8"), file


# -- api-routes: pages/api/people/index.ts and people/[id].ts -----------------------------
LUKE = {"id": "1", "name": "Luke Skywalker", "height": "172", "mass": "77", "hair_color": "blond",
        "skin_color": "fair", "eye_color": "blue", "gender": "male"}


def test_api_routes_people_lists_everyone() -> None:
    resp = client_for("api-routes").get("/api/people")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    people = resp.json()
    assert len(people) == 10
    assert people[0] == LUKE
    assert [p["id"] for p in people] == [str(n) for n in range(1, 11)]
    assert people[-1]["name"] == "Obi-Wan Kenobi"


def test_api_routes_one_person_by_id() -> None:
    client = client_for("api-routes")
    assert client.get("/api/people/1").json() == LUKE
    vader = client.get("/api/people/4")
    assert (vader.status, vader.json()["name"], vader.json()["height"]) == (200, "Darth Vader", "202")


def test_api_routes_unknown_person_is_the_originals_404() -> None:
    resp = client_for("api-routes").get("/api/people/42")
    assert resp.status == 404
    assert resp.json() == {"message": "User with id: 42 not found."}


def test_api_routes_modules_have_readable_names() -> None:
    """`from .._data import people` works because the route modules live in the pages package."""
    import sys

    App(SAMPLES / "api-routes" / "pages")
    assert "pages.api.people.[id]" in sys.modules
    assert "pages.api._data" in sys.modules


def test_api_routes_pages_are_served_beside_the_api() -> None:
    client = client_for("api-routes")
    index = client.get("/")
    assert index.status == 200 and "/api/people" in index.text
    person = client.get("/person/1")
    assert person.status == 200 and "/api/people/" in person.text


# -- api-routes-rest: pages/api/users.ts and user/[id].ts ---------------------------------
def test_api_routes_rest_users() -> None:
    resp = client_for("api-routes-rest").get("/api/users")
    assert (resp.status, resp.json()) == (200, [{"id": 1}, {"id": 2}, {"id": 3}])


def test_api_routes_rest_get_user() -> None:
    resp = client_for("api-routes-rest").get("/api/user/7")
    assert (resp.status, resp.json()) == (200, {"id": 7, "name": "User 7"})


def test_api_routes_rest_put_user_takes_the_name_from_the_query() -> None:
    client = client_for("api-routes-rest")
    named = client.put("/api/user/7", query={"name": "Ada"})
    assert (named.status, named.json()) == (200, {"id": 7, "name": "Ada"})
    unnamed = client.put("/api/user/7")
    assert (unnamed.status, unnamed.json()) == (200, {"id": 7, "name": "User 7"})


def test_api_routes_rest_id_is_parsed_like_parse_int() -> None:
    client = client_for("api-routes-rest")
    assert client.get("/api/user/12abc").json() == {"id": 12, "name": "User 12"}
    assert client.get("/api/user/abc").json()["id"] is None  # NaN, which JSON writes as null


@pytest.mark.parametrize("method", ["POST", "DELETE", "PATCH"])
def test_api_routes_rest_other_methods_are_405_with_allow(method: str) -> None:
    resp = client_for("api-routes-rest").request(method, "/api/user/7")
    assert resp.status == 405
    assert resp.headers.get_all("Allow") == ["GET", "PUT"]  # setHeader("Allow", ["GET", "PUT"]): two lines
    assert resp.text == f"Method {method} Not Allowed"


def test_api_routes_rest_pages() -> None:
    client = client_for("api-routes-rest")
    assert "/api/users" in client.get("/").text
    assert "/api/user/" in client.get("/user/3").text


# -- api-routes-cors: pages/api/cors.ts with the `cors` package -----------------------------
def test_api_routes_cors_get_carries_the_origin_header() -> None:
    resp = client_for("api-routes-cors").get("/api/cors", headers={"Origin": "https://other.example"})
    assert resp.status == 200
    assert resp.json() == {"message": "Hello Everyone!"}
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.headers["Access-Control-Allow-Methods"] is None  # only on preflights


def test_api_routes_cors_post_too() -> None:
    resp = client_for("api-routes-cors").post("/api/cors", json={}, headers={"Origin": "https://other.example"})
    assert (resp.status, resp.json()) == (200, {"message": "Hello Everyone!"})
    assert resp.headers["Access-Control-Allow-Origin"] == "*"


def test_api_routes_cors_preflight_is_answered_by_the_middleware() -> None:
    resp = client_for("api-routes-cors").options("/api/cors", headers={
        "Origin": "https://other.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-requested-with",
    })
    assert resp.status == 204
    assert resp.content == b""
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.headers["Access-Control-Allow-Methods"] == "POST,GET,HEAD"
    assert resp.headers["Access-Control-Allow-Headers"] == "content-type,x-requested-with"  # reflected
    assert resp.headers["Vary"] == "Access-Control-Request-Headers"
    assert resp.headers["Content-Type"] is None  # a 204 has no body and no type


def test_api_routes_cors_preflight_without_requested_headers() -> None:
    resp = client_for("api-routes-cors").options("/api/cors", headers={
        "Origin": "https://other.example", "Access-Control-Request-Method": "GET"})
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Headers"] is None


def test_api_routes_cors_the_route_never_runs_on_a_preflight(tmp_path: Path) -> None:
    """The middleware answers without calling next(): a handler that would fail is never reached."""
    import shutil

    pages = tmp_path / "pages"
    shutil.copytree(SAMPLES / "api-routes-cors" / "pages", pages)
    (pages / "api" / "cors.py").write_text("async def handler(req, res):\n    raise RuntimeError('ran')\n")
    resp = Client(App(pages)).options("/api/cors", headers={"Access-Control-Request-Method": "GET"})
    assert resp.status == 204


def test_api_routes_cors_helper_options(tmp_path: Path) -> None:
    """The port's `Cors` takes the package's other options: a list of origins, credentials, max age."""
    import shutil

    pages = tmp_path / "pages"
    shutil.copytree(SAMPLES / "api-routes-cors" / "pages", pages)
    (pages / "api" / "_middleware.py").write_text(
        "from ._cors import Cors\n"
        "middleware = Cors(origin=['https://a.example'], credentials=True, max_age=600,\n"
        "                  allowed_headers=['Content-Type'], exposed_headers=['X-Total'])\n")
    client = Client(App(pages))
    allowed = client.get("/api/cors", headers={"Origin": "https://a.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://a.example"
    assert allowed.headers["Access-Control-Allow-Credentials"] == "true"
    assert allowed.headers["Access-Control-Expose-Headers"] == "X-Total"
    assert allowed.headers["Vary"] == "Origin"
    refused = client.get("/api/cors", headers={"Origin": "https://evil.example"})
    assert refused.status == 200 and refused.headers["Access-Control-Allow-Origin"] is None
    preflight = client.options("/api/cors", headers={"Origin": "https://a.example",
                                                     "Access-Control-Request-Method": "PUT"})
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Max-Age"] == "600"
    assert preflight.headers["Access-Control-Allow-Headers"] == "Content-Type"
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET,HEAD,PUT,PATCH,POST,DELETE"


# -- api-routes-middleware: pages/api/cookies.ts and utils/cookies.ts ------------------------
def test_api_routes_middleware_sets_the_cookie_and_shows_it() -> None:
    client = client_for("api-routes-middleware")
    resp = client.get("/api/cookies")
    assert resp.status == 200
    cookies = resp.headers.get_all("Set-Cookie")
    assert cookies == ["Next.js=api-middleware!; Path=/; HttpOnly; SameSite=Lax"]
    assert json.loads(resp.text) == cookies  # the body is the header, as JSON, for the page to show
    assert client.cookies["Next.js"] == "api-middleware!"  # a browser keeps it


def test_api_routes_middleware_helper_encodes_objects_and_max_age(tmp_path: Path) -> None:
    import shutil

    pages = tmp_path / "pages"
    shutil.copytree(SAMPLES / "api-routes-middleware" / "pages", pages)
    (pages / "api" / "prefs.py").write_text(
        "from ._cookies import set_cookie\n\n"
        "async def handler(req, res):\n"
        "    set_cookie(res, 'prefs', {'theme': 'dark'}, max_age=60)\n"
        "    return {'ok': True}\n")
    resp = Client(App(pages)).get("/api/prefs")
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("prefs=j%3A%7B%22theme%22%3A%22dark%22%7D; Max-Age=60; Expires=")
    assert "GMT; Path=/; HttpOnly; SameSite=Lax" in cookie


def test_api_routes_middleware_page() -> None:
    assert "Cookie from response" in client_for("api-routes-middleware").get("/").text
