"""The OpenAPI document (R95), serving it and the docs page (R96), the page itself (R97).

A tree of routes covering every feature (typed and untyped, method functions
and handlers with and without `methods`, catch-alls, @operation, auth
batteries in a _middleware.py, as a decorator and on the app) is checked
key by key; the document of every sample and of that tree passes
openapi-spec-validator; schemathesis runs every phase with its default checks
against the samples' apps and the tree, in-process over WSGI.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import nextapi
from nextapi import App
from nextapi.docspage import example, render
from nextapi.openapi import document, security_schemes
from nextapi.testing import Client
from tests.helpers import SEED, run_cli, write_tree

# Imported when the tests are collected, not in a test: tests/test_docs.py forgets the modules a docs
# example imported (docs/openapi.md imports the validator), and a half-forgotten package breaks later.
try:
    import openapi_spec_validator  # noqa: F401
    import schemathesis  # noqa: F401
except ImportError:  # pragma: no cover - pinned in tests/requirements.txt
    pass

ROOT = Path(__file__).resolve().parent.parent
BOARD = ROOT / "samples" / "board" / "pages"
NEXTJS = sorted((ROOT / "samples" / "nextjs").glob("*/pages"))
SAMPLES = [SEED, BOARD, *NEXTJS]
SAMPLE_IDS = ["comments", "board", *(p.parent.name for p in NEXTJS)]

TREE = {
    "api/index.py": '''
        def get(req, res):
            return {"ok": True}
    ''',
    "api/items/index.py": '''
        """The items of the shop."""
        from dataclasses import dataclass, field
        from enum import Enum
        from typing import Annotated, Literal
        from nextapi import Field, Header, Query, operation

        class Color(Enum):
            RED = "red"
            BLUE = "blue"

        @dataclass
        class Dimensions:
            width: float
            height: float

        @dataclass
        class NewItem:
            """An item to add."""
            name: Annotated[str, Field(min_length=1, max_length=40, examples=["lamp"])]
            price: Annotated[float, Field(ge=0)]
            color: Color = Color.RED
            tags: list[str] = field(default_factory=list)
            size: Dimensions | None = None

        @dataclass
        class Item:
            id: int
            name: str
            price: float
            color: Color
            tags: list[str]

        ITEMS = {}

        def get(req, res, limit: Annotated[int, Field(ge=1, le=100)] = 20, tag: list[str] | None = None,
                q: Annotated[str | None, Query("search", description="Words in the name")] = None,
                order: Literal["asc", "desc"] = "asc") -> list[Item]:
            """List the items.

            Newest first, at most `limit`.
            """
            return list(ITEMS.values())[:limit]

        @operation(status=201, responses={409: "Name taken"})
        def post(req, res, body: NewItem, x_request_id: Annotated[str | None, Header()] = None) -> Item:
            """Add an item."""
            item = Item(max(ITEMS, default=0) + 1, body.name, body.price, body.color, body.tags)
            ITEMS[item.id] = item
            return item
    ''',
    "api/items/[id].py": '''
        from typing import NotRequired, TypedDict
        from nextapi import HTTPError, operation

        class Problem(TypedDict):
            error: str
            id: NotRequired[int]

        from .index import ITEMS

        @operation(responses={404: {"description": "No such item", "model": Problem}})
        def get(req, res, id: int) -> dict:
            if id not in ITEMS:
                raise HTTPError(404, body={"error": "No such item", "id": id})
            return ITEMS[id].__dict__

        @operation(status=204, summary="Remove an item", description="Gone for good.", operation_id="removeItem",
                   tags=["admin"], deprecated=True, responses={404: "No such item"})
        def delete(req, res, id: int) -> None:
            """Ignored: @operation says it."""
            if ITEMS.pop(id, None) is None:
                raise HTTPError(404, "No such item")
            res.status(204).end()

        def head(req, res, id: int):
            if id not in ITEMS:
                raise HTTPError(404, "No such item")
            res.status(200).end()
    ''',
    "api/files/[[...path]].py": '''
        def get(req, res, path: list[str] | None = None) -> list[str]:
            """The files under a folder."""
            return path or []
    ''',
    "api/blob/[...parts].py": '''
        def handler(req, res):
            return {"parts": req.query["parts"]}
    ''',
    "api/any.py": '''
        def handler(req, res):
            """Answers anything."""
            return {"method": req.method}
    ''',
    "api/limited.py": '''
        methods = ["GET", "POST"]

        def handler(req, res):
            return {"method": req.method}
    ''',
    "api/users/[name].py": '''
        def get(req, res):
            return {"name": req.query["name"]}
    ''',
    "api/[org]/repos.py": '''
        from typing import TypedDict
        from nextapi import operation

        class Repo(TypedDict, total=False):
            name: str
            stars: int

        @operation(operation_id="listRepos")
        def get(req, res, org: str) -> list[Repo]:
            return [{"name": org}]

        @operation(operation_id="listRepos")
        def put(req, res, org: str, body: Repo = None) -> Repo:
            return body or {}
    ''',
    "api/secure/_middleware.py": '''
        import nextapi
        middleware = nextapi.bearer(lambda token: {"id": 1} if token == "s3cret" else None)
    ''',
    "api/secure/data.py": '''
        def get(req, res):
            return {"user": req.user}
    ''',
    "api/keyed.py": '''
        import nextapi
        key = nextapi.api_key(lambda k: "u" if k == "k" else None)

        @key
        def get(req, res):
            return {"ok": True}

        def post(req, res):
            return {"open": True}
    ''',
    "api/raw.py": '''
        config = {"body_parser": False}

        def post(req, res):
            return {"ok": True}
    ''',
    "api/session.py": '''
        from typing import Annotated
        from nextapi import Cookie

        async def get(req, res, sid: Annotated[str, Cookie()]) -> dict[str, str]:
            return {"sid": sid}
    ''',
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("shop"), TREE)


@pytest.fixture(scope="module")
def doc(tree: Path) -> dict[str, Any]:
    return document(App(tree))


def op(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return doc["paths"][path][method]


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, o) for p, item in doc["paths"].items() for m, o in item.items() if isinstance(o, dict)
            and m in ("get", "put", "post", "delete", "options", "head", "patch", "trace")]


def params(operation: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(p["in"], p["name"]): p for p in operation.get("parameters", [])}


# -- R95: the document -----------------------------------------------------------------------
def test_top_level(doc: dict[str, Any], tree: Path) -> None:
    assert doc["openapi"] == "3.1.0"
    assert doc["info"] == {"title": tree.parent.name, "version": "0.1.0"}
    assert list(doc) == ["openapi", "info", "tags", "paths", "components"]


def test_title_and_version_given_or_from_pyproject(tree: Path) -> None:
    assert document(App(tree), title="Shop", version="2.1")["info"] == {"title": "Shop", "version": "2.1"}
    if sys.version_info >= (3, 11):  # tomllib
        (tree.parent / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "3.4.5"\n')
        try:
            assert document(App(tree))["info"]["version"] == "3.4.5"
        finally:
            (tree.parent / "pyproject.toml").unlink()


def test_paths_in_match_order(doc: dict[str, Any]) -> None:
    assert list(doc["paths"]) == [
        "/api", "/api/any", "/api/blob/{parts}", "/api/files", "/api/files/{path}", "/api/items",
        "/api/items/{id}", "/api/keyed", "/api/limited", "/api/raw", "/api/secure/data", "/api/session",
        "/api/users/{name}", "/api/{org}/repos",
    ]


def test_catch_alls(doc: dict[str, Any]) -> None:
    blob = params(op(doc, "get", "/api/blob/{parts}"))[("path", "parts")]
    assert blob["required"] is True and blob["x-nextapi-catch-all"] is True
    assert blob["schema"] == {"type": "string", "minLength": 1}
    files = params(op(doc, "get", "/api/files/{path}"))[("path", "path")]
    assert files["x-nextapi-catch-all"] is True and files["required"] is True
    # The optional catch-all also documents its parent path, without the parameter.
    parent = op(doc, "get", "/api/files")
    assert "parameters" not in parent
    assert parent["summary"] == "The files under a folder."
    assert parent["operationId"] != op(doc, "get", "/api/files/{path}")["operationId"]


def test_methods(doc: dict[str, Any]) -> None:
    methods = {p: sorted(m for m in item if m in ("get", "post", "put", "delete", "head", "options", "patch"))
               for p, item in doc["paths"].items()}
    assert methods["/api/any"] == ["get"]  # a handler without methods = [...]: one get
    assert op(doc, "get", "/api/any")["x-nextapi-any-method"] is True
    assert methods["/api/limited"] == ["get", "post"]  # exactly its methods (no HEAD, OPTIONS)
    assert "x-nextapi-any-method" not in op(doc, "get", "/api/limited")
    assert methods["/api/items/{id}"] == ["delete", "get", "head"]  # head: it defines the function
    assert methods["/api/items"] == ["get", "post"]
    assert all("x-nextapi-any-method" not in o for m, p, o in operations(doc) if p not in ("/api/any", "/api/blob/{parts}"))


def test_operation_ids_unique(doc: dict[str, Any]) -> None:
    ids = [o["operationId"] for _, _, o in operations(doc)]
    assert len(ids) == len(set(ids))
    assert op(doc, "get", "/api/items")["operationId"] == "get_items"
    assert op(doc, "get", "/api/items/{id}")["operationId"] == "get_items_id"
    assert op(doc, "get", "/api")["operationId"] == "get_index"
    assert op(doc, "delete", "/api/items/{id}")["operationId"] == "removeItem"  # @operation
    # The same operation_id twice: the second is made unique.
    assert op(doc, "get", "/api/{org}/repos")["operationId"] == "listRepos"
    assert op(doc, "put", "/api/{org}/repos")["operationId"] == "listRepos_2"


def test_tags(doc: dict[str, Any]) -> None:
    assert op(doc, "get", "/api/items")["tags"] == ["items"]  # api/items/index.py
    assert op(doc, "get", "/api/items/{id}")["tags"] == ["items"]
    assert op(doc, "delete", "/api/items/{id}")["tags"] == ["admin"]  # @operation
    assert op(doc, "get", "/api/any")["tags"] == ["any"]  # a file directly in api/: its own name
    assert op(doc, "get", "/api/{org}/repos")["tags"] == ["[org]"]
    assert "tags" not in op(doc, "get", "/api")  # api/index.py
    used = {t for _, _, o in operations(doc) for t in o.get("tags", [])}
    assert [t["name"] for t in doc["tags"]] == sorted(used)


def test_docstrings_and_operation_metadata(doc: dict[str, Any]) -> None:
    listing = op(doc, "get", "/api/items")
    assert listing["summary"] == "List the items."
    assert listing["description"] == "Newest first, at most `limit`."
    assert doc["paths"]["/api/items"]["description"] == "The items of the shop."  # the module's docstring
    assert op(doc, "post", "/api/items")["summary"] == "Add an item."
    assert "description" not in op(doc, "post", "/api/items")
    removal = op(doc, "delete", "/api/items/{id}")
    assert (removal["summary"], removal["description"], removal["deprecated"]) == ("Remove an item", "Gone for good.", True)
    assert "summary" not in op(doc, "get", "/api/users/{name}")
    assert "deprecated" not in listing


def test_parameters(doc: dict[str, Any]) -> None:
    listing = params(op(doc, "get", "/api/items"))
    assert list(listing) == [("query", "limit"), ("query", "tag"), ("query", "search"), ("query", "order")]
    assert listing[("query", "limit")] == {"name": "limit", "in": "query", "required": False,
                                           "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}}
    assert listing[("query", "tag")]["schema"] == {"type": "array", "items": {"type": "string"}}  # no null in text
    assert (listing[("query", "tag")]["style"], listing[("query", "tag")]["explode"]) == ("form", True)
    assert listing[("query", "search")]["description"] == "Words in the name"  # Query("search", ...)
    assert listing[("query", "search")]["schema"] == {"type": "string"}
    assert listing[("query", "order")]["schema"] == {"enum": ["asc", "desc"], "default": "asc"}
    header = params(op(doc, "post", "/api/items"))[("header", "x-request-id")]
    assert header["required"] is False and header["schema"] == {"type": "string"}
    cookie = params(op(doc, "get", "/api/session"))[("cookie", "sid")]
    assert cookie["required"] is True and cookie["schema"] == {"type": "string"}
    # Path parameters: always required; typed by their annotation, else a string.
    typed = params(op(doc, "get", "/api/items/{id}"))[("path", "id")]
    assert typed == {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    untyped = params(op(doc, "get", "/api/users/{name}"))[("path", "name")]
    assert untyped == {"name": "name", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
    assert "parameters" not in op(doc, "get", "/api/any")


def test_request_body(doc: dict[str, Any]) -> None:
    body = op(doc, "post", "/api/items")["requestBody"]
    assert body == {"required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewItem"}}}}
    optional = op(doc, "put", "/api/{org}/repos")["requestBody"]  # body: Repo = None
    assert optional["required"] is False
    assert optional["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Repo"}
    assert "requestBody" not in op(doc, "get", "/api/items")
    assert "requestBody" not in op(doc, "post", "/api/raw")


def test_components(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    assert set(schemas) == {"Error", "ValidationError", "Item", "Color", "NewItem", "Dimensions", "Problem", "Repo"}
    new = schemas["NewItem"]
    assert new["type"] == "object" and new["required"] == ["name", "price"]
    assert new["description"] == "An item to add."
    assert new["properties"]["name"] == {"type": "string", "minLength": 1, "maxLength": 40, "examples": ["lamp"]}
    assert new["properties"]["color"] == {"$ref": "#/components/schemas/Color"}
    assert new["properties"]["size"] == {"anyOf": [{"$ref": "#/components/schemas/Dimensions"}, {"type": "null"}]}
    assert schemas["Color"]["enum"] == ["red", "blue"]
    assert "required" not in schemas["Repo"]  # total=False
    assert schemas["Problem"]["required"] == ["error"]  # NotRequired id
    assert schemas["Error"]["properties"] == {"error": {"type": "string", "description": "What went wrong"}}
    validation = schemas["ValidationError"]
    assert validation["required"] == ["error", "detail"]
    item = validation["properties"]["detail"]["items"]
    assert item["required"] == ["loc", "msg", "type"]
    assert set(item["properties"]) == {"loc", "msg", "type"}


ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def test_responses(doc: dict[str, Any]) -> None:
    post = op(doc, "post", "/api/items")["responses"]
    assert list(post) == ["201", "400", "405", "409", "413", "415", "422", "default"]
    assert post["201"] == {"description": "Created",
                           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}}
    assert post["409"] == {"description": "Name taken", "content": ERROR}  # @operation(responses={409: "..."})
    assert post["413"]["description"] == "Payload Too Large: body exceeded 1mb limit"
    assert post["422"]["content"] == {"application/json": {"schema": {"$ref": "#/components/schemas/ValidationError"}}}
    assert post["405"]["headers"]["Allow"]["required"] is True
    assert post["default"] == {"description": "Error", "content": ERROR}
    listing = op(doc, "get", "/api/items")["responses"]
    assert list(listing) == ["200", "405", "422", "default"]  # no body taken: no 400, 413, 415
    assert listing["200"]["content"]["application/json"]["schema"] == {
        "type": "array", "items": {"$ref": "#/components/schemas/Item"}}
    one = op(doc, "get", "/api/items/{id}")["responses"]
    assert one["404"] == {"description": "No such item",
                          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    assert op(doc, "delete", "/api/items/{id}")["responses"]["204"] == {"description": "No Content"}
    # No declared inputs: no 422; no return annotation: no content schema.
    assert op(doc, "get", "/api/users/{name}")["responses"] == {
        "200": {"description": "OK"}, "405": post["405"], "default": post["default"]}
    # A handler without methods answers every method: no 405.
    assert list(op(doc, "get", "/api/any")["responses"]) == ["200", "default"]
    assert list(op(doc, "post", "/api/limited")["responses"]) == ["200", "400", "405", "413", "default"]
    # body_parser False: no 400 or 413.
    assert list(op(doc, "post", "/api/raw")["responses"]) == ["200", "405", "default"]


def test_security_from_batteries(doc: dict[str, Any]) -> None:
    assert doc["components"]["securitySchemes"] == {
        "bearerAuth": {"type": "http", "scheme": "bearer"},
        "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    }
    secured = op(doc, "get", "/api/secure/data")  # the folder's _middleware.py
    assert secured["security"] == [{"bearerAuth": []}]
    assert secured["responses"]["401"]["headers"]["WWW-Authenticate"]["required"] is True
    assert op(doc, "get", "/api/keyed")["security"] == [{"apiKeyAuth": []}]  # the decorator
    assert "security" not in op(doc, "post", "/api/keyed")  # the other method is open
    assert "401" not in op(doc, "post", "/api/keyed")["responses"]
    assert "security" not in op(doc, "get", "/api/items")


def test_security_from_app_middleware_and_stand_ins(tree: Path) -> None:
    class StandIn:  # anything with security_scheme counts, as the batteries do
        security_scheme = {"type": "http", "scheme": "digest"}

        def __call__(self, req: Any, res: Any, next: Any) -> Any:
            return next()

    app = App(tree, middleware=[nextapi.basic(lambda u, p: None), StandIn()])
    doc = document(app)
    assert doc["components"]["securitySchemes"]["basicAuth"] == {"type": "http", "scheme": "basic"}
    assert doc["components"]["securitySchemes"]["digestAuth"] == {"type": "http", "scheme": "digest"}
    # Every operation is behind both; the folder's bearer too where it applies (all of them: AND).
    assert op(doc, "get", "/api/items")["security"] == [{"basicAuth": [], "digestAuth": []}]
    assert op(doc, "get", "/api/secure/data")["security"] == [{"basicAuth": [], "digestAuth": [], "bearerAuth": []}]
    assert security_schemes(print) == []


def test_an_untyped_app_is_documented_as_strings(doc: dict[str, Any]) -> None:
    seed = document(App(SEED))
    assert op(seed, "get", "/api/comments/{id}")["parameters"] == [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}]
    assert op(seed, "get", "/api/hello")["x-nextapi-any-method"] is True
    assert seed["paths"]["/api/hello"]["description"] == "The smallest route: return a value and it is sent as JSON."


def test_dev_mode_leaves_out_a_broken_file(tmp_path: Path) -> None:
    pages = write_tree(tmp_path, {"api/ok.py": "def get(req, res):\n    return 1\n",
                                  "api/broken.py": "def get(req, res)\n"})
    assert list(document(App(pages, dev=True))["paths"]) == ["/api/ok"]


# -- openapi-spec-validator --------------------------------------------------------------------
@pytest.mark.parametrize("pages", SAMPLES, ids=SAMPLE_IDS)
def test_samples_pass_the_validator(pages: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from openapi_spec_validator import validate

    monkeypatch.setenv("BOARD_DB", str(tmp_path / "board.db"))
    validate(document(App(pages)))


def test_the_tree_passes_the_validator(doc: dict[str, Any], tree: Path) -> None:
    from openapi_spec_validator import validate

    validate(doc)
    validate(document(App(tree, middleware=[nextapi.bearer(lambda t: None)])))
    validate(json.loads(json.dumps(doc)))  # as served


# -- schemathesis ------------------------------------------------------------------------------
MAX_EXAMPLES = 25
# A fixed seed keeps `make test` repeatable; NEXTAPI_SCHEMATHESIS_SEED=random explores afresh.
_SEED = os.environ.get("NEXTAPI_SCHEMATHESIS_SEED", "20240101")


def schemathesis_failures(app: App) -> tuple[list[str], int]:
    """Every phase (examples, coverage, fuzzing, stateful) with schemathesis's default checks, in-process over
    WSGI; (each failure as "phase operation check: message", the number of requests made)."""
    import schemathesis
    from schemathesis.config import SchemathesisConfig
    from schemathesis.engine import Status, events, from_schema

    doc = document(app)
    # A handler without `methods` answers every method: its `get` is marked x-nextapi-any-method, so
    # the coverage phase's "undeclared method must be a 405" probe does not apply to those paths.
    any_method = [o["operationId"] for _, _, o in operations(doc) if o.get("x-nextapi-any-method")]
    config = SchemathesisConfig.from_dict({
        **({} if _SEED == "random" else {"seed": int(_SEED)}),
        "generation": {"max-examples": MAX_EXAMPLES},
        "operations": [{"include-operation-id": i, "phases": {"coverage": {"unexpected-methods": []}}}
                       for i in any_method],
    })
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=config)
    failures: list[str] = []
    requests = 0
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            requests += len(event.recorder.interactions)
            for nodes in event.recorder.checks.values():
                for node in nodes:
                    if node.status == Status.FAILURE:
                        info = node.failure_info
                        text = " ".join(str(info.failure).split())[:300] if info is not None else ""
                        failures.append(f"{event.phase.value} {event.label} {node.name}: {text}")
        elif isinstance(event, (events.FatalError, events.NonFatalError)):
            failures.append(f"error: {event}")
        elif isinstance(event, events.EngineFinished):
            failures.extend(f"run: {f}" for f in event.failures)
    return sorted(set(failures)), requests


@pytest.mark.parametrize("pages", SAMPLES, ids=SAMPLE_IDS)
def test_schemathesis_on_the_samples(pages: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOARD_DB", str(tmp_path / "board.db"))
    app = App(pages, docs=True)
    failures, requests = schemathesis_failures(app)
    assert failures == []
    assert requests > 0


def test_schemathesis_on_the_tree(tree: Path) -> None:
    failures, requests = schemathesis_failures(App(tree, docs=True))
    assert failures == []
    assert requests > 100


# -- R96: serving ------------------------------------------------------------------------------
def test_docs_on_in_dev(tree: Path) -> None:
    client = Client(App(tree, dev=True))
    got = client.get("/api/openapi.json")
    assert got.status == 200 and got.headers["content-type"] == "application/json; charset=utf-8"
    assert got.json() == json.loads(json.dumps(document(App(tree))))
    page = client.get("/api/docs")
    assert page.status == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "/api/items" in page.text
    assert client.head("/api/docs").status == 200 and client.head("/api/docs").content == b""
    assert client.options("/api/openapi.json").status == 204
    refused = client.post("/api/docs")
    assert (refused.status, refused.json(), refused.headers["allow"]) == (
        405, {"error": "Method Not Allowed"}, "GET, HEAD, OPTIONS")


def test_docs_off_in_production_unless_asked(tree: Path) -> None:
    assert Client(App(tree)).get("/api/openapi.json").status == 404
    assert Client(App(tree)).get("/api/docs").status == 404
    assert Client(App(tree, dev=True, docs=False)).get("/api/docs").status == 404
    client = Client(App(tree, docs=True))
    assert client.get("/api/openapi.json").status == 200
    assert client.get("/api/docs").status == 200
    assert client.get("/api/docs/").status == 308  # the usual trailing-slash rule
    assert client.get("/api/docsx").status == 404


def test_dev_docs_follow_edits(tmp_path: Path) -> None:
    pages = write_tree(tmp_path, {"api/a.py": "def get(req, res):\n    return 1\n"})
    client = Client(App(pages, dev=True))
    assert list(client.get("/api/openapi.json").json()["paths"]) == ["/api/a"]
    (pages / "api" / "b.py").write_text('def get(req, res):\n    """B."""\n    return 2\n')
    assert list(client.get("/api/openapi.json").json()["paths"]) == ["/api/a", "/api/b"]


@pytest.mark.parametrize("files, path, rel", [
    ({"api/docs.py": "def get(req, res):\n    return {'mine': True}\n"}, "/api/docs", "api/docs.py"),
    ({"api/[name].py": "def get(req, res):\n    return {'mine': True}\n"}, "/api/docs", "api/[name].py"),
    ({"api/[...rest].py": "def get(req, res):\n    return {'mine': True}\n"}, "/api/openapi.json",
     "api/[...rest].py"),
])
def test_a_route_at_a_docs_path_wins(tmp_path: Path, caplog: pytest.LogCaptureFixture, files: dict[str, str],
                                     path: str, rel: str) -> None:
    pages = write_tree(tmp_path, files)
    with caplog.at_level(logging.WARNING, logger="nextapi"):
        client = Client(App(pages, docs=True))
    assert client.get(path).json() == {"mine": True}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(rel in w and path in w for w in warnings), warnings


def test_no_warning_without_docs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pages = write_tree(tmp_path, {"api/docs.py": "def get(req, res):\n    return 1\n"})
    with caplog.at_level(logging.WARNING, logger="nextapi"):
        App(pages)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_docs_pass_through_app_middleware(tree: Path) -> None:
    client = Client(App(tree, docs=True, middleware=[nextapi.bearer(lambda t: "u" if t == "t" else None)]))
    assert client.get("/api/docs").status == 401
    assert client.get("/api/openapi.json", headers={"Authorization": "Bearer t"}).status == 200


def test_production_builds_the_document_once(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nextapi.openapi as module

    calls = []
    real = module.document
    monkeypatch.setattr(module, "document", lambda app, **kw: calls.append(1) or real(app, **kw))
    client = Client(App(tree, docs=True))
    first = client.get("/api/openapi.json").content
    assert client.get("/api/openapi.json").content == first
    assert len(calls) == 1


# -- R97: the page -----------------------------------------------------------------------------
class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.ids: set[str] = set()
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "action", "formaction", "srcset", "poster", "data", "background"):
                self.refs.append((tag, name, value or ""))
            if name == "id" and value:
                self.ids.add(value)
            if name == "style" and value:
                self.styles.append(value)
        if tag == "link":
            self.refs.append((tag, "link", dict(attrs).get("href") or ""))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def test_the_page_is_self_contained(tree: Path) -> None:
    html = Client(App(tree, docs=True)).get("/api/docs").text
    parser = _Refs()
    parser.feed(html)
    assert parser.refs, "the page links to its own anchors"
    for tag, attr, value in parser.refs:
        assert value.startswith("#") or value.startswith("data:"), (tag, attr, value)
        if value.startswith("#"):
            assert value[1:] in parser.ids, f"{value} has no target"
    assert "@import" not in html
    css = "\n".join(parser.styles)
    for url in __import__("re").findall(r"url\(\s*['\"]?([^)'\"]*)", css):
        assert url.startswith("data:") or url.startswith("#"), url
    assert "<script src" not in html.lower() and "<link" not in html.lower()
    assert "http://" not in html and "https://" not in html


def test_the_page_reads_without_javascript(tree: Path) -> None:
    html = render(document(App(tree)))
    # Grouped by tag, in the document's order, with every operation.
    sections = [html.index(f'id="tag-{t}"') for t in ("admin", "any", "items", "secure")]
    assert sections == sorted(sections)
    items = html[html.index('id="tag-items"'):html.index('id="tag-keyed"')]
    for text in ('id="op-get_items"', 'id="op-post_items"', "List the items.", "Newest first, at most <code>limit</code>.",
                 "<code>limit</code>", "≥ 1; ≤ 100; default <code>20</code>", "Words in the name",
                 "Request body", '<a href="#schema-NewItem">NewItem</a>', "Name taken", "201",
                 "<code>name</code><span class=\"req\">required</span>", "at most 40 characters",
                 '<a href="#schema-ValidationError">ValidationError</a>'):
        assert text in items, text
    assert 'id="schema-Item"' in html and 'id="schema-Color"' in html
    assert "any method" in html  # the x-nextapi-any-method badge
    assert "Bearer token" in html and "API key in header X-API-Key" in html


def test_the_page_escapes_what_it_shows(tmp_path: Path) -> None:
    pages = write_tree(tmp_path, {"api/x.py": '''
        def get(req, res):
            """<script>alert(1)</script> & </script><!--"""
            return 1
    '''})
    html = render(document(App(pages)))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in html
    # The operations' JSON for the script cannot close its <script> element.
    data = html[html.index('id="nextapi-operations">'):]
    data = data[len('id="nextapi-operations">'):data.index("</script>")]
    assert "<" not in data and json.loads(data)[0]["id"] == "get_x"
    assert html.count("<script") == 2


def test_the_page_data_for_the_forms(doc: dict[str, Any]) -> None:
    html = render(doc)
    start = html.index('id="nextapi-operations">') + len('id="nextapi-operations">')
    ops = {o["id"]: o for o in json.loads(html[start:html.index("</script>", start)])}
    post = ops["post_items"]
    assert (post["method"], post["path"], post["anyMethod"]) == ("POST", "/api/items", False)
    assert json.loads(post["body"]) == {"name": "lamp", "price": 0, "color": "red", "tags": ["string"],
                                        "size": {"width": 0, "height": 0}}
    listing = {p["name"]: p for p in ops["get_items"]["params"]}
    assert listing["limit"]["value"] == "20" and listing["tag"]["many"] is True
    assert ops["get_any"]["anyMethod"] is True and ops["get_any"]["body"] is None
    assert ops["get_blob_parts"]["params"][0]["catchAll"] is True
    assert ops["get_secure_data"]["security"] == [
        {"name": "bearerAuth", "kind": "bearer", "header": None, "label": "Bearer token"}]


def test_example_values() -> None:
    components = {"A": {"type": "object", "properties": {"n": {"type": "integer", "exclusiveMinimum": 3},
                                                         "s": {"type": "string", "minLength": 8},
                                                         "d": {"type": "string", "format": "date"},
                                                         "self": {"anyOf": [{"$ref": "#/components/schemas/A"},
                                                                            {"type": "null"}]}}}}
    value = example({"$ref": "#/components/schemas/A"}, components)
    assert value["n"] == 4 and len(value["s"]) == 8 and value["d"] == "2024-01-01"
    depth, node = 0, value
    while isinstance(node, dict):  # a recursive type ends
        node, depth = node["self"], depth + 1
    assert depth < 12
    assert example({"type": ["null", "boolean"]}, {}) is True
    assert example({"enum": ["x", "y"]}, {}) == "x"
    assert example({"type": "array", "items": {"const": 1}, "minItems": 2}, {}) == [1, 1]


def test_the_template_ships_beside_the_module_and_vendors(tmp_path: Path) -> None:
    """Copying the nextapi/ folder is a full install (R53): the vendored copy finds its page."""
    shutil.copytree(ROOT / "nextapi", tmp_path / "nextapi", ignore=shutil.ignore_patterns("__pycache__"))
    write_tree(tmp_path / "proj", {"api/a.py": "def get(req, res):\n    return 1\n"})
    code = textwrap.dedent("""
        import nextapi
        from nextapi.testing import Client
        assert nextapi.__file__.startswith(%r), nextapi.__file__
        page = Client(nextapi.App("proj/pages", docs=True)).get("/api/docs")
        assert page.status == 200 and 'id="op-get_a"' in page.text, page.status
        print("ok")
    """ % str(tmp_path))
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(tmp_path)}, check=False)
    assert done.stdout.strip() == "ok", done.stderr


# -- R95: the command --------------------------------------------------------------------------
def test_the_command_prints_the_document(capsys: pytest.CaptureFixture[str], tree: Path) -> None:
    code, out, err = run_cli(capsys, "openapi", str(tree.parent))
    assert (code, err) == (0, "")
    assert json.loads(out) == json.loads(json.dumps(document(App(tree))))
    code, out, _ = run_cli(capsys, "openapi", str(tree), "--title", "Shop", "--api-version", "9")
    assert code == 0 and json.loads(out)["info"] == {"title": "Shop", "version": "9"}


def test_the_command_writes_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "openapi.json"
    code, out, err = run_cli(capsys, "openapi", str(SEED), "--out", str(out_file))
    assert (code, out) == (0, "")
    assert "3 path(s)" in err
    assert json.loads(out_file.read_text(encoding="utf-8")) == json.loads(json.dumps(document(App(SEED))))
    code, _, err = run_cli(capsys, "openapi", str(SEED), "--out", str(tmp_path / "missing" / "x.json"))
    assert code == 1 and err.startswith("error: cannot write")


def test_the_command_in_the_project_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    pages = write_tree(tmp_path / "proj", {"api/a.py": "import os\ndef get(req, res):\n    return 1\n"
                                                      "get.__doc__ = os.environ['DOC']\n"})
    (pages.parent / ".env").write_text("DOC=From the env file\n")
    monkeypatch.setenv("DOC", "")  # so the value the .env file sets is removed afterwards
    monkeypatch.delenv("DOC")
    monkeypatch.chdir(pages.parent)
    code, out, _ = run_cli(capsys, "openapi")
    assert code == 0
    assert json.loads(out)["paths"]["/api/a"]["get"]["summary"] == "From the env file"  # .env read first
    assert json.loads(out)["info"]["title"] == "proj"


def test_the_command_fails_on_a_broken_handler(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pages = write_tree(tmp_path, {"api/a.py": "def get(req, res)\n"})
    code, out, err = run_cli(capsys, "openapi", str(pages))
    assert (code, out) == (1, "") and "a.py" in err and "SyntaxError" in err
    code, _, err = run_cli(capsys, "openapi", "--help")
    assert code == 0


def test_the_command_through_python_m(tree: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "nextapi", "openapi", str(tree)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["openapi"] == "3.1.0"
