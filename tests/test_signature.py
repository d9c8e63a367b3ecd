"""R90-R94: typed routes through real requests (nextapi.signature, nextapi.convert, app._dispatch).

Every exchange goes through nextapi.testing.Client on a pages tree written to
tmp_path. R90 binding (path, catch-all, body, header, cookie, query, defaults,
handler and method functions, async); R91 conversions of every type from text
(path, query, header, cookie) and from a JSON body, with the body's "no
coercion" rule; the Field constraints; R92's exact 422; R93's return
conversion and status; R94's load-time compiling and load errors; pydantic v2
duck typing with a fake model (and a real one when pydantic is importable).
"""
from __future__ import annotations

import json
import logging
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nextapi import App, LoadError
from nextapi.testing import Client, TestResponse
from tests.helpers import write_tree

MakeClient = Callable[..., Client]

# Shared by every generated route file: the types the tables below name.
PRELUDE = """\
import asyncio
import datetime
import enum
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, Literal, Optional, TypedDict

try:
    from typing import NotRequired, Required
except ImportError:  # Python 3.10
    from typing_extensions import NotRequired, Required

from nextapi import Cookie, Field, Header, Query, operation


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass
class Point:
    x: int
    y: int = 0


@dataclass
class Shape:
    name: str
    points: list[Point]
    tags: list[str] = field(default_factory=list)
    color: Color = Color.RED


@dataclass
class Tree:
    label: str
    children: "list[Tree]" = field(default_factory=list)


class Movie(TypedDict):
    title: str
    year: NotRequired[int]


class Partial(TypedDict, total=False):
    id: Required[int]
    note: str


@dataclass
class Person:
    name: Annotated[str, Field(min_length=1, max_length=5)]
    age: Annotated[int, Field(ge=0, le=150)] = 0


class Limits(TypedDict):
    size: Annotated[int, Field(gt=0, multiple_of=2)]
    code: Annotated[str, Field(pattern="^[A-Z]{3}$")]
"""


def tree(files: dict[str, str]) -> dict[str, str]:
    """Each route file gets the prelude (the sources below are written without indentation)."""
    return {path: PRELUDE + "\n\n" + source for path, source in files.items()}


def send_json(client: Client, path: str, value: Any, ctype: str = "application/json", **kw: Any) -> TestResponse:
    """POST `value` as JSON text (so a JSON null or a bare string can be sent too)."""
    return client.post(path, body=json.dumps(value), headers={"Content-Type": ctype, **kw.pop("headers", {})}, **kw)


def detail(resp: TestResponse) -> list[dict[str, Any]]:
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["error"] == "Invalid request"
    assert set(body) == {"error", "detail"}
    for entry in body["detail"]:
        assert {"loc", "msg", "type"} <= set(entry)
        assert entry["loc"][0] in ("path", "query", "header", "cookie", "body")
    return body["detail"]


# ---------------------------------------------------------------------------------------------
# R91: conversions, one generated route per case, all in one app built once for the module
# ---------------------------------------------------------------------------------------------

UTC = "datetime.timezone.utc"
TEXT_CASES: list[tuple[str, Any, str]] = [
    ("str", "abc", "'abc'"),
    ("str", "", "''"),
    ("int", "42", "42"),
    ("int", "-7", "-7"),
    ("int", "+3", "3"),
    ("float", "1.5", "1.5"),
    ("float", "2", "2.0"),
    ("float", "-1e3", "-1000.0"),
    *[("bool", word, "True") for word in ("true", "TRUE", "True", "1", "yes", "YES", "on", "On")],
    *[("bool", word, "False") for word in ("false", "FALSE", "0", "no", "No", "off", "OFF")],
    ("int | None", "5", "5"),
    ("Optional[int]", "6", "6"),
    ("int | str", "42", "42"),
    ("int | str", "forty", "'forty'"),
    ("Literal['a', 'b']", "b", "'b'"),
    ("Literal[1, 2]", "2", "2"),
    ("Literal[True]", "true", "True"),
    ("Literal[Color.GREEN]", "green", "<Color.GREEN: 'green'>"),
    ("Color", "green", "<Color.GREEN: 'green'>"),
    ("Level", "2", "<Level.HIGH: 2>"),
    ("list[int]", ["1", "2", "3"], "[1, 2, 3]"),
    ("list[int]", "5", "[5]"),
    ("list[bool]", ["on", "off"], "[True, False]"),
    ("tuple[int, ...]", ["1", "2"], "(1, 2)"),
    ("set[str]", ["a", "a", "a"], "{'a'}"),
    ("list[Color]", ["red", "green"], "[<Color.RED: 'red'>, <Color.GREEN: 'green'>]"),
    ("datetime.datetime", "2024-05-06T07:08:09Z", f"datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo={UTC})"),
    ("datetime.datetime", "2024-05-06T07:08:09+02:00",
     "datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone(datetime.timedelta(seconds=7200)))"),
    ("datetime.datetime", "2024-05-06T07:08:09", "datetime.datetime(2024, 5, 6, 7, 8, 9)"),
    ("datetime.date", "2024-05-06", "datetime.date(2024, 5, 6)"),
    ("datetime.time", "07:08:09", "datetime.time(7, 8, 9)"),
    ("datetime.time", "07:08:09Z", f"datetime.time(7, 8, 9, tzinfo={UTC})"),
    ("uuid.UUID", "12345678-1234-5678-1234-567812345678", "UUID('12345678-1234-5678-1234-567812345678')"),
    ("Decimal", "1.10", "Decimal('1.10')"),
    ("Any", "x", "'x'"),
]
TEXT_REJECTS: list[tuple[str, Any, str]] = [
    ("int", "4.2", "int_parsing"),
    ("int", "abc", "int_parsing"),
    ("int", "", "int_parsing"),
    ("float", "x", "float_parsing"),
    ("float", "nan", "float_parsing"),
    ("float", "1e999", "float_parsing"),
    ("bool", "maybe", "bool_parsing"),
    ("bool", "", "bool_parsing"),
    ("Color", "RED", "enum"),
    ("Level", "3", "enum"),
    ("Literal['a', 'b']", "c", "literal_error"),
    ("datetime.date", "2024-13-01", "date_parsing"),
    ("datetime.datetime", "yesterday", "datetime_parsing"),
    ("datetime.time", "25:00", "time_parsing"),
    ("uuid.UUID", "not-a-uuid", "uuid_parsing"),
    ("Decimal", "one", "decimal_parsing"),
    ("Decimal", "NaN", "decimal_parsing"),
]
BODY_CASES: list[tuple[str, Any, str]] = [
    ("int", 42, "42"),
    ("float", 3, "3.0"),
    ("float", 2.5, "2.5"),
    ("bool", True, "True"),
    ("str", "s", "'s'"),
    ("None", None, "None"),
    ("int | None", None, "None"),
    ("int | None", 1, "1"),
    ("int | str", "x", "'x'"),
    ("Literal['a', 1]", 1, "1"),
    ("Literal[Color.RED, Level.HIGH]", 2, "<Level.HIGH: 2>"),
    ("Color", "red", "<Color.RED: 'red'>"),
    ("Level", 1, "<Level.LOW: 1>"),
    ("list[Point]", [{"x": 1}], "[Point(x=1, y=0)]"),
    ("tuple[int, ...]", [1, 2], "(1, 2)"),
    ("set[int]", [1, 1, 2], "{1, 2}"),
    ("dict[str, int]", {"a": 1}, "{'a': 1}"),
    ("Point", {"x": 1, "y": 2, "z": 3}, "Point(x=1, y=2)"),  # keys it does not name are ignored
    ("Shape", {"name": "s", "points": [{"x": 1, "y": 2}], "extra": True},
     "Shape(name='s', points=[Point(x=1, y=2)], tags=[], color=<Color.RED: 'red'>)"),
    ("Shape", {"name": "s", "points": [], "tags": ["t"], "color": "green"},
     "Shape(name='s', points=[], tags=['t'], color=<Color.GREEN: 'green'>)"),
    ("Tree", {"label": "a", "children": [{"label": "b", "children": [{"label": "c"}]}]},
     "Tree(label='a', children=[Tree(label='b', children=[Tree(label='c', children=[])])])"),
    ("Movie", {"title": "t", "extra": 1}, "{'title': 't'}"),
    ("Movie", {"title": "t", "year": 1999}, "{'title': 't', 'year': 1999}"),
    ("Partial", {"id": 1}, "{'id': 1}"),
    ("Partial", {"id": 1, "note": "n"}, "{'id': 1, 'note': 'n'}"),
    ("datetime.datetime", "2024-05-06T07:08:09Z", f"datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo={UTC})"),
    ("datetime.date", "2024-05-06", "datetime.date(2024, 5, 6)"),
    ("datetime.time", "07:08:09", "datetime.time(7, 8, 9)"),
    ("uuid.UUID", "12345678-1234-5678-1234-567812345678", "UUID('12345678-1234-5678-1234-567812345678')"),
    ("Decimal", "1.10", "Decimal('1.10')"),
    ("Decimal", 1.5, "Decimal('1.5')"),
    ("Any", {"a": [1]}, "{'a': [1]}"),
    ("dict[str, list[tuple[int, ...] | None]]", {"a": [[1, 2], None]}, "{'a': [(1, 2), None]}"),
    ("list[dict[str, list[Point]]]", [{"k": [{"x": 1}]}], "[{'k': [Point(x=1, y=0)]}]"),
]
BODY_REJECTS: list[tuple[str, Any, str, list[Any]]] = [  # JSON values must already have the type
    ("int", "42", "int_type", ["body"]),
    ("int", 1.0, "int_type", ["body"]),
    ("int", True, "int_type", ["body"]),
    ("float", "1.5", "float_type", ["body"]),
    ("float", False, "float_type", ["body"]),
    ("bool", "true", "bool_type", ["body"]),
    ("bool", 1, "bool_type", ["body"]),
    ("str", 5, "string_type", ["body"]),
    ("None", 0, "none_required", ["body"]),
    ("list[int]", "1", "list_type", ["body"]),
    ("list[int]", [1, "2"], "int_type", ["body", 1]),
    ("dict[str, int]", [], "dict_type", ["body"]),
    ("dict[str, int]", {"a": "1"}, "int_type", ["body", "a"]),
    ("Point", [1], "dataclass_type", ["body"]),
    ("Point", {"y": 1}, "missing", ["body", "x"]),
    ("Point", {"x": "1"}, "int_type", ["body", "x"]),
    ("Shape", {"name": "s", "points": [{"x": 1}, {"x": "b"}]}, "int_type", ["body", "points", 1, "x"]),
    ("Tree", {"label": "a", "children": [{"label": 1}]}, "string_type", ["body", "children", 0, "label"]),
    ("Movie", {"year": 1}, "missing", ["body", "title"]),
    ("Movie", {"title": "t", "year": "1999"}, "int_type", ["body", "year"]),
    ("Partial", {"note": "n"}, "missing", ["body", "id"]),
    ("Color", "RED", "enum", ["body"]),
    ("Level", "1", "enum", ["body"]),
    ("Literal['a']", "b", "literal_error", ["body"]),
    ("Literal[1]", True, "literal_error", ["body"]),
    ("datetime.date", 20240101, "date_parsing", ["body"]),
    ("datetime.date", "2024-05-06T07:08:09", "date_parsing", ["body"]),
    ("uuid.UUID", "nope", "uuid_parsing", ["body"]),
    ("Decimal", True, "decimal_parsing", ["body"]),
]
TEXT_FILE = {ann: f"/api/q/c{i}" for i, ann in enumerate(sorted({c[0] for c in TEXT_CASES + TEXT_REJECTS}))}
BODY_FILE = {ann: f"/api/b/c{i}" for i, ann in enumerate(sorted({c[0] for c in BODY_CASES + BODY_REJECTS}))}


@pytest.fixture(scope="module")
def typed(tmp_path_factory: pytest.TempPathFactory) -> Client:
    """One route per annotation: under api/q/ `get` binds `v` from the query, under api/b/ `post`
    binds `body`; both answer with the value's repr()."""
    files = {f"{path[1:]}.py": f"""
def get(req, res, v: {ann}):
    return {{"repr": repr(v)}}
""" for ann, path in TEXT_FILE.items()}
    files.update({f"{path[1:]}.py": f"""
def post(req, res, body: {ann}):
    return {{"repr": repr(body)}}
""" for ann, path in BODY_FILE.items()})
    return Client(App(write_tree(tmp_path_factory.mktemp("typed"), tree(files))))


@pytest.mark.parametrize(("ann", "wire", "expected"), TEXT_CASES, ids=[f"{c[0]}={c[1]!r}" for c in TEXT_CASES])
def test_r91_text_values_are_converted(typed: Client, ann: str, wire: Any, expected: str) -> None:
    resp = typed.get(TEXT_FILE[ann], query={"v": wire})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"repr": expected}


@pytest.mark.parametrize(("ann", "wire", "kind"), TEXT_REJECTS, ids=[f"{c[0]}={c[1]!r}" for c in TEXT_REJECTS])
def test_r91_text_values_that_do_not_convert_are_a_422(typed: Client, ann: str, wire: Any, kind: str) -> None:
    problems = detail(typed.get(TEXT_FILE[ann], query={"v": wire}))
    assert [(p["loc"], p["type"], p.get("input")) for p in problems] == [(["query", "v"], kind, wire)]


@pytest.mark.parametrize(("ann", "value", "expected"), BODY_CASES, ids=[f"{c[0]}={c[1]!r}" for c in BODY_CASES])
def test_r91_json_body_values(typed: Client, ann: str, value: Any, expected: str) -> None:
    resp = send_json(typed, BODY_FILE[ann], value)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"repr": expected}


@pytest.mark.parametrize(("ann", "value", "kind", "loc"), BODY_REJECTS,
                         ids=[f"{c[0]}={c[1]!r}" for c in BODY_REJECTS])
def test_r91_json_body_values_are_not_coerced(typed: Client, ann: str, value: Any, kind: str,
                                              loc: list[Any]) -> None:
    problems = detail(send_json(typed, BODY_FILE[ann], value))
    assert [(p["loc"], p["type"]) for p in problems] == [(loc, kind)]


def test_r91_text_collections_take_a_repeated_key_and_report_the_index(typed: Client) -> None:
    problems = detail(typed.get(TEXT_FILE["list[int]"] + "?v=1&v=2&v=x&v=4&v=y"))
    assert [(p["loc"], p["type"], p["input"]) for p in problems] == [
        (["query", "v", 2], "int_parsing", "x"), (["query", "v", 4], "int_parsing", "y")]


def test_r91_a_repeated_key_for_one_value_takes_the_last(typed: Client) -> None:
    assert typed.get(TEXT_FILE["int"] + "?v=1&v=2").json() == {"repr": "2"}


# ---------------------------------------------------------------------------------------------
# R90: where each input comes from
# ---------------------------------------------------------------------------------------------

BINDING = {
    "api/items/[id].py": """
def get(req, res, id: int, q: Annotated[str, Query("search")] = "", limit: int = 10, verbose: bool = False):
    return {"id": id, "q": q, "limit": limit, "verbose": verbose, "query": req.query}
""",
    "api/files/[...slug].py": """
def get(req, res, slug: list[str]):
    return {"slug": slug}
""",
    "api/nums/[...n].py": """
def get(req, res, n: list[int]):
    return {"n": n}
""",
    "api/headers.py": """
def get(req, res, api_key: Annotated[str, Header("X-Api-Key")],
        x_request_id: Annotated[str | None, Header()] = None,
        sid: Annotated[str, Cookie("sid")] = "none",
        theme: Annotated[str, Cookie()] = "light",
        x_count: Annotated[int, Header()] = 0):
    return {"api_key": api_key, "x_request_id": x_request_id, "sid": sid, "theme": theme, "x_count": x_count}
""",
    "api/required.py": """
def get(req, res, name: str, count: int, tag: str = "t"):
    return {"name": name, "count": count, "tag": tag}
""",
    "api/plain.py": """
def get(req, res):
    return {"query": req.query}


def post(req, res):
    return {"body": req.body if not isinstance(req.body, bytes) else None, "type": type(req.body).__name__}
""",
    "api/anything/[id].py": """
def handler(req, res, id: int, flag: bool = False):
    return {"method": req.method, "id": id, "flag": flag}
""",
    "api/methods.py": """
def get(req, res, n: int):
    return {"get": n}


def put(req, res, body: Point) -> Point:
    return body


def delete(req, res):
    return {"deleted": True}
""",
    "api/aio.py": """
async def get(req, res, n: int) -> list[int]:
    await asyncio.sleep(0)
    return list(range(n))


async def post(req, res, body: Point, scale: int = 1) -> Point:
    await asyncio.sleep(0)
    return Point(body.x * scale, body.y * scale)
""",
    "api/body.py": """
def post(req, res, body: Shape):
    return {"name": body.name, "points": [[p.x, p.y] for p in body.points], "type": type(body).__name__}


def put(req, res, body: Point | None = None):
    return {"body": repr(body)}
""",
    "api/untyped_extra.py": """
def get(req, res, q, n=3):
    return {"q": q, "n": n}
""",
}


@pytest.fixture(scope="module")
def binding(tmp_path_factory: pytest.TempPathFactory) -> Client:
    return Client(App(write_tree(tmp_path_factory.mktemp("binding"), tree(BINDING))))


def test_r90_path_parameter_query_by_name_and_query_rename(binding: Client) -> None:
    resp = binding.get("/api/items/42?search=hello&limit=5&verbose=yes")
    assert resp.status_code == 200
    body = resp.json()
    assert (body["id"], body["q"], body["limit"], body["verbose"]) == (42, "hello", 5, True)
    assert body["query"]["id"] == "42"  # req.query is unchanged (R21)


def test_r91_an_empty_query_value_for_an_optional_scalar_is_none(make_client: MakeClient) -> None:
    client = make_client({"api/search.py": """
def get(req, res, q: str | None = None, page: int | None = 1, size: int | None = None):
    return {"q": q, "page": page, "size": size}
"""})
    assert client.get("/api/search?q=&page=&size=").json() == {"q": "", "page": None, "size": None}
    assert client.get("/api/search?page=2").json() == {"q": None, "page": 2, "size": None}


def test_r90_defaults_make_inputs_optional(binding: Client) -> None:
    body = binding.get("/api/items/7").json()
    assert (body["id"], body["q"], body["limit"], body["verbose"]) == (7, "", 10, False)


def test_r90_query_q_is_not_read_when_renamed(binding: Client) -> None:
    assert binding.get("/api/items/7?q=ignored").json()["q"] == ""


def test_r90_the_path_parameter_wins_over_a_query_key_of_its_name(binding: Client) -> None:
    assert binding.get("/api/items/7?id=8").json()["id"] == 7


def test_r90_bad_path_parameter(binding: Client) -> None:
    problems = detail(binding.get("/api/items/abc"))
    assert problems == [{"loc": ["path", "id"], "msg": "Input should be a valid integer, unable to parse string as an "
                         "integer", "type": "int_parsing", "input": "abc"}]


def test_r90_catch_all_is_a_list(binding: Client) -> None:
    assert binding.get("/api/files/a/b/c").json() == {"slug": ["a", "b", "c"]}
    assert binding.get("/api/nums/1/2").json() == {"n": [1, 2]}
    problems = detail(binding.get("/api/nums/1/x/3"))
    assert [(p["loc"], p["type"]) for p in problems] == [(["path", "n", 1], "int_parsing")]


def test_r90_headers_and_cookies(binding: Client) -> None:
    resp = binding.get("/api/headers", headers={"X-Api-Key": "k1", "x-REQUEST-id": "r1", "X-Count": "3"},
                       cookies={"sid": "s1", "theme": "dark"})
    assert resp.json() == {"api_key": "k1", "x_request_id": "r1", "sid": "s1", "theme": "dark", "x_count": 3}


def test_r90_markers_on_inputs_defaulting_to_none(make_client: MakeClient) -> None:
    # `= None` on an Annotated input: Python 3.10's get_type_hints wraps it in Optional[...]
    client = make_client(tree({"api/none.py": """
def get(req, res, token: Annotated[str, Header("X-Token")] = None,
        sid: Annotated[str | None, Cookie()] = None,
        search: Annotated[Optional[str], Query("q")] = None,
        page: Annotated[int, Field(ge=1)] = None):
    return {"token": token, "sid": sid, "search": search, "page": page}
"""}))
    resp = client.get("/api/none?q=x&page=2", headers={"X-Token": "t"}, cookies={"sid": "s"})
    assert resp.json() == {"token": "t", "sid": "s", "search": "x", "page": 2}
    assert client.get("/api/none").json() == {"token": None, "sid": None, "search": None, "page": None}
    assert [p["loc"] for p in detail(client.get("/api/none?page=0"))] == [["query", "page"]]


def test_r90_header_and_cookie_defaults(binding: Client) -> None:
    resp = binding.get("/api/headers", headers={"x-api-key": "k"})
    assert resp.json() == {"api_key": "k", "x_request_id": None, "sid": "none", "theme": "light", "x_count": 0}


def test_r90_header_and_cookie_names_on_the_wire_in_errors(binding: Client) -> None:
    problems = detail(binding.get("/api/headers", headers={"X-Count": "many"}))
    assert [(p["loc"], p["type"]) for p in problems] == [
        (["header", "X-Api-Key"], "missing"), (["header", "x-count"], "int_parsing")]


def test_r90_a_query_value_does_not_fill_a_header_or_cookie(binding: Client) -> None:
    problems = detail(binding.get("/api/headers?api_key=k&X-Api-Key=k"))
    assert [p["loc"] for p in problems] == [["header", "X-Api-Key"]]
    resp = binding.get("/api/headers?sid=q&theme=q", headers={"X-Api-Key": "k"})
    assert (resp.json()["sid"], resp.json()["theme"]) == ("none", "light")


def test_r90_required_without_a_default(binding: Client) -> None:
    assert binding.get("/api/required?name=a&count=2").json() == {"name": "a", "count": 2, "tag": "t"}
    problems = detail(binding.get("/api/required"))
    assert problems == [{"loc": ["query", "name"], "msg": "Field required", "type": "missing"},
                        {"loc": ["query", "count"], "msg": "Field required", "type": "missing"}]


def test_r90_req_res_handlers_are_unchanged(binding: Client) -> None:
    assert binding.get("/api/plain?a=1&a=2&b=x").json() == {"query": {"a": ["1", "2"], "b": "x"}}
    assert binding.post("/api/plain", data={"f": "v"}).json() == {"body": {"f": "v"}, "type": "dict"}
    resp = binding.post("/api/plain", body="hi", headers={"Content-Type": "text/plain"})
    assert resp.json() == {"body": "hi", "type": "str"}
    assert binding.post("/api/plain", body=b"\x00", headers={"Content-Type": "application/octet-stream"}
                        ).json()["type"] == "bytes"


def test_r90_annotated_req_res_handlers_are_unchanged(make_client: MakeClient) -> None:
    # `-> Response` says the handler answers through res: nothing to convert, never a load error
    client = make_client({"api/annotated.py": """
from __future__ import annotations

from typing import Optional

from nextapi import Request, Response


def get(req: Request, res: Response) -> Response:
    return res.status(201).json({"ok": True})


def post(req: Request, res: Response) -> Response | None:
    res.json({"body": req.body})
    return None


async def put(req: Request, res: Response) -> Optional[Response]:
    return res.send("text")


def delete(req: Request, res: Response, n: int = 1) -> Response:
    return res.json({"n": n})
"""})
    resp = client.get("/api/annotated")
    assert (resp.status_code, resp.json()) == (201, {"ok": True})
    assert client.post("/api/annotated", data={"a": "1"}).json() == {"body": {"a": "1"}}
    assert client.put("/api/annotated").text == "text"
    assert client.delete("/api/annotated?n=2").json() == {"n": 2}


def test_r90_handler_function(binding: Client) -> None:
    assert binding.get("/api/anything/3?flag=on").json() == {"method": "GET", "id": 3, "flag": True}
    assert binding.delete("/api/anything/4").json() == {"method": "DELETE", "id": 4, "flag": False}
    assert detail(binding.patch("/api/anything/x"))[0]["loc"] == ["path", "id"]


def test_r90_method_functions_each_have_their_own_signature(binding: Client) -> None:
    assert binding.get("/api/methods?n=1").json() == {"get": 1}
    assert binding.put("/api/methods", json={"x": 1, "y": 2}).json() == {"x": 1, "y": 2}
    assert binding.delete("/api/methods").json() == {"deleted": True}
    assert detail(binding.get("/api/methods"))[0]["loc"] == ["query", "n"]
    assert detail(binding.put("/api/methods", json={}))[0]["loc"] == ["body", "x"]


def test_r90_async_typed_handlers(binding: Client) -> None:
    assert binding.get("/api/aio?n=3").json() == [0, 1, 2]
    assert binding.post("/api/aio?scale=2", json={"x": 1, "y": 3}).json() == {"x": 2, "y": 6}
    problems = detail(binding.post("/api/aio?scale=x", json={"y": "a"}))
    assert [p["loc"] for p in problems] == [["body", "x"], ["body", "y"], ["query", "scale"]]


def test_r90_body_takes_the_json_body(binding: Client) -> None:
    resp = binding.post("/api/body", json={"name": "tri", "points": [{"x": 1}, {"x": 2, "y": 3}]})
    assert resp.json() == {"name": "tri", "points": [[1, 0], [2, 3]], "type": "Shape"}


def test_r90_optional_body(binding: Client) -> None:
    assert binding.put("/api/body").json() == {"body": "None"}
    assert send_json(binding, "/api/body", None, headers={}, ).status_code == 422  # POST: Shape is required
    assert binding.put("/api/body", body="null", headers={"Content-Type": "application/json"}
                       ).json() == {"body": "None"}
    assert binding.put("/api/body", json={"x": 5}).json() == {"body": "Point(x=5, y=0)"}


def test_r90_json_body_types(binding: Client) -> None:
    shape = {"name": "s", "points": []}
    for ctype in ("application/json; charset=utf-8", "application/ld+json", "application/merge-patch+json",
                  "APPLICATION/JSON"):
        assert send_json(binding, "/api/body", shape, ctype=ctype).status_code == 200, ctype
    # no content type at all: the bytes are read as JSON
    assert binding.post("/api/body", body=json.dumps(shape)).status_code == 200


def test_r90_unannotated_extra_parameters_are_query_values(binding: Client) -> None:
    assert binding.get("/api/untyped_extra?q=a").json() == {"q": "a", "n": 3}
    assert binding.get("/api/untyped_extra?q=a&n=4").json() == {"q": "a", "n": "4"}
    assert detail(binding.get("/api/untyped_extra"))[0]["loc"] == ["query", "q"]


# ---------------------------------------------------------------------------------------------
# R91: constraints (Field), on parameters, dataclass fields and TypedDict fields
# ---------------------------------------------------------------------------------------------

CONSTRAINTS: list[tuple[str, Any, str | None, dict[str, Any] | None]] = [
    # (Field arguments on an int/str/list query value, text sent, the error type or None, its ctx)
    ("int, Field(ge=1)", "1", None, None),
    ("int, Field(ge=1)", "0", "greater_than_equal", {"ge": 1}),
    ("int, Field(gt=1)", "2", None, None),
    ("int, Field(gt=1)", "1", "greater_than", {"gt": 1}),
    ("int, Field(le=5)", "5", None, None),
    ("int, Field(le=5)", "6", "less_than_equal", {"le": 5}),
    ("int, Field(lt=5)", "4", None, None),
    ("int, Field(lt=5)", "5", "less_than", {"lt": 5}),
    ("int, Field(ge=0, le=10)", "11", "less_than_equal", {"le": 10}),
    ("int, Field(multiple_of=3)", "9", None, None),
    ("int, Field(multiple_of=3)", "-6", None, None),
    ("int, Field(multiple_of=3)", "10", "multiple_of", {"multiple_of": 3}),
    ("float, Field(multiple_of=0.5)", "1.5", None, None),
    ("float, Field(multiple_of=0.1)", "0.3", None, None),
    ("float, Field(multiple_of=0.5)", "1.2", "multiple_of", {"multiple_of": 0.5}),
    ("float, Field(gt=0.5)", "0.5", "greater_than", {"gt": 0.5}),
    ("Decimal, Field(le=2)", "2.5", "less_than_equal", {"le": 2}),
    ("str, Field(min_length=2)", "ab", None, None),
    ("str, Field(min_length=2)", "a", "string_too_short", {"min_length": 2}),
    ("str, Field(max_length=3)", "abc", None, None),
    ("str, Field(max_length=3)", "abcd", "string_too_long", {"max_length": 3}),
    ("str, Field(pattern='b')", "abc", None, None),  # searched, not matched
    ("str, Field(pattern='^b')", "abc", "string_pattern_mismatch", {"pattern": "^b"}),
    ("str, Field(pattern='^b$')", "b", None, None),
    ("str, Field(pattern='^b$')", "bb", "string_pattern_mismatch", {"pattern": "^b$"}),
    ("str, Field(pattern=r'\\d{3}')", "ab123cd", None, None),
    ("str, Field(description='a name', examples=['x'])", "anything", None, None),
    ("int | None, Field(ge=1)", "0", "greater_than_equal", {"ge": 1}),
]
LIST_CONSTRAINTS: list[tuple[str, list[str], str | None]] = [
    ("list[int], Field(min_length=2)", ["1", "2"], None),
    ("list[int], Field(min_length=2)", ["1"], "too_short"),
    ("list[int], Field(max_length=2)", ["1", "2", "3"], "too_long"),
    ("list[Annotated[int, Field(ge=0)]], Field(max_length=3)", ["1", "-1"], "greater_than_equal"),
]


K_ROUTE = {ann: f"/api/k/c{i}" for i, ann in enumerate(sorted({c[0] for c in CONSTRAINTS + LIST_CONSTRAINTS}))}


@pytest.fixture(scope="module")
def constrained(tmp_path_factory: pytest.TempPathFactory) -> Client:
    files = {f"{path[1:]}.py": f"""
def get(req, res, v: Annotated[{ann}]):
    return {{"repr": repr(v)}}
""" for ann, path in K_ROUTE.items()}
    files["api/person.py"] = """
def post(req, res, body: Person):
    return {"repr": repr(body)}


def put(req, res, body: Limits):
    return {"repr": repr(body)}


def patch(req, res, body: list[Annotated[int, Field(gt=0)]]):
    return {"repr": repr(body)}
"""
    return Client(App(write_tree(tmp_path_factory.mktemp("constrained"), tree(files))))


@pytest.mark.parametrize(("ann", "wire", "kind", "ctx"), CONSTRAINTS, ids=[f"{c[0]}:{c[1]}" for c in CONSTRAINTS])
def test_r91_constraints(constrained: Client, ann: str, wire: str, kind: str | None,
                         ctx: dict[str, Any] | None) -> None:
    resp = constrained.get(K_ROUTE[ann], query={"v": wire})
    if kind is None:
        assert resp.status_code == 200, resp.text
        return
    problems = detail(resp)
    assert len(problems) == 1
    assert (problems[0]["loc"], problems[0]["type"], problems[0]["ctx"]) == (["query", "v"], kind, ctx)


@pytest.mark.parametrize(("ann", "wire", "kind"), LIST_CONSTRAINTS, ids=[c[0] for c in LIST_CONSTRAINTS])
def test_r91_list_constraints(constrained: Client, ann: str, wire: list[str], kind: str | None) -> None:
    resp = constrained.get(K_ROUTE[ann], query={"v": wire})
    if kind is None:
        assert resp.status_code == 200, resp.text
    else:
        assert [p["type"] for p in detail(resp)] == [kind]


def test_r91_constraint_messages_are_pydantic_shaped(constrained: Client) -> None:
    resp = constrained.get(K_ROUTE["int, Field(ge=1)"], query={"v": "0"})
    assert detail(resp) == [{"loc": ["query", "v"], "msg": "Input should be greater than or equal to 1",
                             "type": "greater_than_equal", "input": 0, "ctx": {"ge": 1}}]
    resp = constrained.get(K_ROUTE["str, Field(max_length=3)"], query={"v": "abcd"})
    assert detail(resp) == [{"loc": ["query", "v"], "msg": "Value should have at most 3 characters",
                             "type": "string_too_long", "input": "abcd", "ctx": {"max_length": 3}}]


def test_r91_constraints_on_dataclass_fields(constrained: Client) -> None:
    assert constrained.post("/api/person", json={"name": "ann", "age": 3}).json() == {
        "repr": "Person(name='ann', age=3)"}
    problems = detail(constrained.post("/api/person", json={"name": "", "age": 200}))
    assert [(p["loc"], p["type"]) for p in problems] == [
        (["body", "name"], "string_too_short"), (["body", "age"], "less_than_equal")]
    problems = detail(constrained.post("/api/person", json={"name": "toolong", "age": -1}))
    assert [(p["loc"], p["type"]) for p in problems] == [
        (["body", "name"], "string_too_long"), (["body", "age"], "greater_than_equal")]


def test_r91_constraints_on_typeddict_fields(constrained: Client) -> None:
    assert constrained.put("/api/person", json={"size": 4, "code": "ABC"}).json() == {
        "repr": "{'size': 4, 'code': 'ABC'}"}
    problems = detail(constrained.put("/api/person", json={"size": 3, "code": "ABCD"}))
    assert [(p["loc"], p["type"]) for p in problems] == [
        (["body", "size"], "multiple_of"), (["body", "code"], "string_pattern_mismatch")]
    problems = detail(constrained.put("/api/person", json={"size": 0, "code": "abc"}))
    assert [(p["loc"], p["type"]) for p in problems] == [
        (["body", "size"], "greater_than"), (["body", "code"], "string_pattern_mismatch")]


def test_r91_constraints_on_list_items_in_a_body(constrained: Client) -> None:
    assert constrained.patch("/api/person", json=[1, 2]).json() == {"repr": "[1, 2]"}
    problems = detail(constrained.patch("/api/person", json=[1, 0, 2, -5]))
    assert [(p["loc"], p["type"]) for p in problems] == [(["body", 1], "greater_than"), (["body", 3], "greater_than")]


# ---------------------------------------------------------------------------------------------
# R92: one 422 listing every problem; the handler does not run; 400 and 415 for the body
# ---------------------------------------------------------------------------------------------

MANY = {
    "api/many/[id].py": """
def post(req, res, id: int, body: Shape, ids: list[int], limit: Annotated[int, Header("X-Limit")],
         n: Annotated[int, Cookie()], mode: Literal["a", "b"] = "a", name: str = "x"):
    raise RuntimeError("the handler ran")
""",
    "api/needs_body.py": """
def post(req, res, body: Point):
    raise RuntimeError("the handler ran")


def put(req, res, body: Any):
    return {"body": body}
""",
    "api/floaty.py": """
class F(TypedDict):
    f: float


def post(req, res, body: F):
    return body
""",
}


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Client:
    return Client(App(write_tree(tmp_path_factory.mktemp("many"), tree(MANY))))


def test_r92_every_problem_in_one_422(many: Client) -> None:
    resp = many.post("/api/many/abc?ids=1&ids=2&ids=x&mode=c", headers={"X-Limit": "lots"},
                     cookies={"n": "1.5"}, json={"points": [{"x": 1}, {"x": "2", "y": None}], "color": "blue"})
    assert resp.status_code == 422
    assert resp.headers["Content-Type"].startswith("application/json")
    assert resp.json() == {"error": "Invalid request", "detail": [
        {"loc": ["path", "id"], "msg": "Input should be a valid integer, unable to parse string as an integer",
         "type": "int_parsing", "input": "abc"},
        {"loc": ["body", "name"], "msg": "Field required", "type": "missing"},
        {"loc": ["body", "points", 1, "x"], "msg": "Input should be a valid integer", "type": "int_type",
         "input": "2"},
        {"loc": ["body", "points", 1, "y"], "msg": "Input should be a valid integer", "type": "int_type",
         "input": None},
        {"loc": ["body", "color"], "msg": "Input should be 'red', 'green'", "type": "enum", "input": "blue",
         "ctx": {"expected": "'red', 'green'"}},
        {"loc": ["query", "ids", 2], "msg": "Input should be a valid integer, unable to parse string as an integer",
         "type": "int_parsing", "input": "x"},
        {"loc": ["header", "X-Limit"], "msg": "Input should be a valid integer, unable to parse string as an integer",
         "type": "int_parsing", "input": "lots"},
        {"loc": ["cookie", "n"], "msg": "Input should be a valid integer, unable to parse string as an integer",
         "type": "int_parsing", "input": "1.5"},
        {"loc": ["query", "mode"], "msg": "Input should be 'a' or 'b'", "type": "literal_error", "input": "c",
         "ctx": {"expected": "'a' or 'b'"}},
    ]}


def test_r92_missing_everything(many: Client) -> None:
    assert detail(many.post("/api/many/1")) == [
        {"loc": ["body"], "msg": "Field required", "type": "missing"},
        {"loc": ["query", "ids"], "msg": "Field required", "type": "missing"},
        {"loc": ["header", "X-Limit"], "msg": "Field required", "type": "missing"},
        {"loc": ["cookie", "n"], "msg": "Field required", "type": "missing"},
    ]


def test_r92_a_required_body_with_no_body(many: Client) -> None:
    assert detail(many.post("/api/needs_body")) == [{"loc": ["body"], "msg": "Field required", "type": "missing"}]
    # chunked input that turned out empty is no body too
    assert detail(many.post("/api/needs_body", body=b"", chunked=True,
                            headers={"Content-Type": "application/json"}))[0]["loc"] == ["body"]


def test_r92_an_empty_json_body_is_an_empty_object(many: Client) -> None:
    # R23: Content-Length: 0 with a JSON type is {} (Next.js), so the object's keys are missing
    resp = many.post("/api/needs_body", body=b"", headers={"Content-Type": "application/json"})
    assert detail(resp) == [{"loc": ["body", "x"], "msg": "Field required", "type": "missing"}]


def test_r92_invalid_json_is_still_r24s_400(many: Client) -> None:
    for raw in (b"{", b"   ", b"[1e400]", b"NaN", b"\xff"):
        resp = many.post("/api/needs_body", body=raw, headers={"Content-Type": "application/json"})
        assert (resp.status_code, resp.json()) == (400, {"error": "Invalid JSON"}), raw
        resp = many.post("/api/needs_body", body=raw)  # no content type: read as JSON all the same
        assert resp.status_code == 400, raw


def test_r92_a_huge_json_integer_for_a_float_is_a_422_not_a_500(many: Client) -> None:
    resp = many.post("/api/floaty", body=b'{"f": 1' + b"0" * 400 + b"}", headers={"Content-Type": "application/json"})
    assert detail(resp) == [{"loc": ["body", "f"], "msg": "Input should be a finite number", "type": "finite_number"}]


def test_r92_invalid_json_wins_over_other_problems(many: Client) -> None:
    resp = many.post("/api/many/abc", body=b"{", headers={"Content-Type": "application/json"})
    assert (resp.status_code, resp.json()) == (400, {"error": "Invalid JSON"})


def test_r92_a_typed_body_that_is_not_json_is_a_415(many: Client) -> None:
    for kw in ({"data": {"x": "1"}}, {"body": "x=1", "headers": {"Content-Type": "text/plain"}},
               {"body": b"\x00", "headers": {"Content-Type": "application/octet-stream"}},
               {"body": "{}", "headers": {"Content-Type": "application/jsonx"}}):
        resp = many.post("/api/needs_body", **kw)
        assert resp.status_code == 415, kw
        assert resp.json()["error"].startswith("Unsupported Media Type")
    resp = many.post("/api/needs_body", body=b"--b--\r\n", headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert resp.status_code == 415


def test_r92_a_body_typed_any_still_wants_json(many: Client) -> None:
    assert many.put("/api/needs_body", json=[1, "a"]).json() == {"body": [1, "a"]}
    assert many.put("/api/needs_body", data={"a": "1"}).status_code == 415


# ---------------------------------------------------------------------------------------------
# R93: the return annotation converts what is sent; the success status
# ---------------------------------------------------------------------------------------------

OUTPUT = {
    "api/out/point.py": """
def get(req, res) -> Point:
    return Point(1, 2)


def post(req, res, body: Point) -> Point:
    return body


def put(req, res) -> Point:
    return {"x": 1, "y": 2, "secret": "s"}


def delete(req, res) -> Point | None:
    return None
""",
    "api/out/color.py": """
def get(req, res) -> Color:
    return Color.GREEN


def post(req, res) -> list[Color]:
    return [Color.RED, Color.GREEN]
""",
    "api/out/shapes.py": """
def get(req, res) -> list[Shape]:
    return [Shape("a", [Point(1)]), Shape("b", [], ["t"], Color.GREEN)]
""",
    "api/out/movie.py": """
def get(req, res) -> Movie:
    return {"title": "t", "year": 1999, "secret": "hidden"}


def post(req, res) -> list[Movie]:
    return [{"title": "a", "rating": 5}, {"title": "b", "year": 2000}]
""",
    "api/out/misc.py": """
def get(req, res) -> dict[str, Any]:
    return {"when": datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc),
            "day": datetime.date(2024, 5, 6), "id": uuid.UUID(int=1), "price": Decimal("1.10"),
            "tuple": (1, 2), "set": {3}}


def post(req, res) -> tuple[int, ...]:
    return (1, 2)


def put(req, res) -> str:
    return "plain"


def patch(req, res) -> int:
    return 7
""",
    "api/out/status.py": """
def post(req, res) -> Point:
    return Point(1)


@operation(status=201)
def put(req, res, body: Point) -> Point:
    return body


@operation(status=201)
def patch(req, res) -> Point:
    res.status(202)
    return Point(2)


@operation(status=201)
def delete(req, res):
    return None


def get(req, res) -> Point:
    res.status(203)
    return Point(3)
""",
    "api/out/sent.py": """
def get(req, res) -> Point:
    res.status(200).json({"sent": "by hand"})


def post(req, res) -> Point:
    return res.json({"returned": "res"})


@operation(status=201)
def put(req, res):
    return {"untyped": True}
""",
    "api/out/bad.py": """
def get(req, res) -> int:
    return "seven"


def post(req, res) -> list[Point]:
    return [Point(1), {"x": "a"}]


def put(req, res) -> Point:
    return Point("not an int")


def patch(req, res) -> Movie:
    return {"year": 1}
""",
}


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Client:
    return Client(App(write_tree(tmp_path_factory.mktemp("output"), tree(OUTPUT))))


def test_r93_dataclass_to_object(output: Client) -> None:
    resp = output.get("/api/out/point")
    assert (resp.status_code, resp.json()) == (200, {"x": 1, "y": 2})
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert output.post("/api/out/point", json={"x": 4}).json() == {"x": 4, "y": 0}


def test_r93_dataclass_fields_without_init_are_sent_as_r31_sends_them(make_client: MakeClient) -> None:
    client = make_client(tree({"api/priced.py": """
@dataclass
class Priced:
    net: int
    gross: int = field(init=False)

    def __post_init__(self):
        self.gross = self.net * 2


def get(req, res) -> Priced:
    return Priced(2)


def post(req, res, body: Priced) -> Priced:
    return body


def put(req, res):
    return res.json(Priced(3))
"""}))
    assert client.get("/api/priced").json() == {"net": 2, "gross": 4}
    assert client.post("/api/priced", json={"net": 1, "gross": 100}).json() == {"net": 1, "gross": 2}
    assert client.put("/api/priced").json() == {"net": 3, "gross": 6}  # R31, untyped: the same


def test_r93_dump_keeps_only_declared_keys(output: Client) -> None:
    assert output.put("/api/out/point").json() == {"x": 1, "y": 2}  # a dict for a dataclass
    assert output.get("/api/out/movie").json() == {"title": "t", "year": 1999}  # TypedDict
    assert output.post("/api/out/movie").json() == [{"title": "a"}, {"title": "b", "year": 2000}]


def test_r93_enums_and_lists_of_dataclasses(output: Client) -> None:
    assert output.get("/api/out/color").json() == "green"
    assert output.post("/api/out/color").json() == ["red", "green"]
    assert output.get("/api/out/shapes").json() == [
        {"name": "a", "points": [{"x": 1, "y": 0}], "tags": [], "color": "red"},
        {"name": "b", "points": [], "tags": ["t"], "color": "green"}]


def test_r93_r31_values(output: Client) -> None:
    assert output.get("/api/out/misc").json() == {
        "when": "2024-05-06T07:08:09+00:00", "day": "2024-05-06", "id": "00000000-0000-0000-0000-000000000001",
        "price": "1.10", "tuple": [1, 2], "set": [3]}
    assert output.post("/api/out/misc").json() == [1, 2]
    resp = output.put("/api/out/misc")  # a str return annotation: sent as JSON, not as text
    assert (resp.text, resp.headers["Content-Type"]) == ('"plain"', "application/json; charset=utf-8")
    assert output.patch("/api/out/misc").text == "7"


def test_r93_status_is_200_whatever_the_method(output: Client) -> None:
    assert output.post("/api/out/status").status_code == 200


def test_r93_declared_success_status(output: Client) -> None:
    resp = output.put("/api/out/status", json={"x": 1})
    assert (resp.status_code, resp.json()) == (201, {"x": 1, "y": 0})
    # a 422 is still a 422
    assert output.put("/api/out/status", json={}).status_code == 422


def test_r93_status_set_before_returning_wins(output: Client) -> None:
    assert output.patch("/api/out/status").status_code == 202  # over @operation(status=201)
    assert output.get("/api/out/status").status_code == 203


def test_r93_returning_none_is_r14(output: Client) -> None:
    resp = output.delete("/api/out/point")  # annotated `-> Point | None`
    assert (resp.status_code, resp.content) == (200, b"")
    # @operation(status=...) applies to a returned value; None is R14's "current status"
    resp = output.delete("/api/out/status")
    assert (resp.status_code, resp.content) == (200, b"")


def test_r93_a_response_sent_by_the_handler_is_left_alone(output: Client) -> None:
    assert output.get("/api/out/sent").json() == {"sent": "by hand"}
    assert output.post("/api/out/sent").json() == {"returned": "res"}


def test_r93_declared_status_without_a_return_annotation(output: Client) -> None:
    resp = output.put("/api/out/sent")
    assert (resp.status_code, resp.json()) == (201, {"untyped": True})


def test_r93_no_check_outside_dev_mode(output: Client, caplog: pytest.LogCaptureFixture) -> None:
    resp = output.get("/api/out/bad")
    assert (resp.status_code, resp.json()) == (200, "seven")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_r93_dev_logs_a_mismatch_never_a_500(make_client: MakeClient, caplog: pytest.LogCaptureFixture,
                                            tmp_path: Path) -> None:
    client = make_client(tree({"api/out/bad.py": OUTPUT["api/out/bad.py"]}), dev=True)
    cases = [  # (method, the first problem's message and where it is, what is sent all the same)
        ("get", "Input should be a valid integer", "the top level", "seven"),
        ("post", "Input should be a valid integer", "[1, 'x']", [{"x": 1, "y": 0}, {"x": "a"}]),
        ("put", "Input should be a valid integer", "['x']", {"x": "not an int", "y": 0}),
        ("patch", "Field required", "['title']", {"year": 1}),
    ]
    for method, msg, where, sent in cases:
        caplog.clear()
        resp = getattr(client, method)("/api/out/bad")
        assert (resp.status_code, resp.json()) == (200, sent), method
        warnings = [r for r in caplog.records if r.name == "nextapi" and r.levelno == logging.WARNING]
        assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
        text = warnings[0].getMessage()
        # the function and its file: a `get` alone could be any route's
        file = str(tmp_path / "pages" / "api" / "out" / "bad.py")
        assert text.startswith(f"{method} ({file}) returned a value that does not match its annotation"), text
        assert msg in text and where in text, text


def test_r93_dev_check_of_a_typeddict_is_never_a_500(make_client: MakeClient,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    client = make_client(tree({"api/td.py": """
def get(req, res) -> Movie:
    return Point(1, 2)
"""}), dev=True, raise_server_exceptions=False)
    resp = client.get("/api/td")
    assert (resp.status_code, resp.json()) == (200, {})
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "Input should be a valid dictionary (Movie)" in warnings[0]


def test_r93_dev_matching_values_log_nothing(make_client: MakeClient, caplog: pytest.LogCaptureFixture) -> None:
    client = make_client(tree({"api/out/shapes.py": OUTPUT["api/out/shapes.py"],
                               "api/out/movie.py": OUTPUT["api/out/movie.py"]}), dev=True)
    assert client.get("/api/out/shapes").status_code == 200
    assert client.get("/api/out/movie").json() == {"title": "t", "year": 1999}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# ---------------------------------------------------------------------------------------------
# R94: compiled at load; unusable annotations are load errors naming file, function, annotation
# ---------------------------------------------------------------------------------------------

def test_r94_no_type_inspection_per_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pages = write_tree(tmp_path, tree({"api/r/[id].py": BINDING["api/items/[id].py"],
                                       "api/s.py": BINDING["api/body.py"] + OUTPUT["api/out/shapes.py"]}))
    app = App(pages)
    calls: list[Any] = []
    real = typing.get_type_hints

    def counting(*args: Any, **kw: Any) -> Any:
        calls.append(args)
        return real(*args, **kw)

    monkeypatch.setattr(typing, "get_type_hints", counting)
    client = Client(app)
    for _ in range(3):
        assert client.get("/api/r/1?limit=2").status_code == 200
        assert client.post("/api/s", json={"name": "n", "points": [{"x": 1}]}).status_code == 200
        assert client.get("/api/s").status_code == 200
        assert client.get("/api/r/x").status_code == 422
    assert calls == []
    App(pages)  # the patch is seen: building another app does inspect the types
    assert calls


def test_r94_dev_mode_compiles_once_at_first_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client(App(write_tree(tmp_path, tree({"api/r/[id].py": BINDING["api/items/[id].py"]})), dev=True))
    assert client.get("/api/r/1").status_code == 200  # imported (and compiled) now, R12
    calls: list[Any] = []
    real = typing.get_type_hints
    monkeypatch.setattr(typing, "get_type_hints", lambda *a, **k: calls.append(a) or real(*a, **k))
    for _ in range(3):
        assert client.get("/api/r/2?verbose=1").json()["verbose"] is True
    assert calls == []


UNUSABLE: list[tuple[str, str, list[str]]] = [
    # (the function's source, the file's name, what the error names besides file and function)
    ("def post(req, res, body: dict[int, str]): pass", "intkeys", ["'body'", "dict[int, str]", "keys must be str"]),
    ("def get(req, res, body: tuple[int, str]): pass", "fixed", ["tuple[int, str]", "fixed-length"]),
    ("class Thing:\n    pass\n\n\ndef get(req, res, t: Thing): pass", "thing", ["'t'", "Thing"]),
    ("def get(req, res, filters: dict): pass", "querydict", ["'filters'", "query", "dict"]),
    ("def get(req, res, p: Point): pass", "querypoint", ["'p'", "Point", "JSON body"]),
    ("def get(req, res, h: Annotated[list[Point], Header()]): pass", "headerpoint", ["'h'", "header", "Point"]),
    ("def get(req, res) -> dict[int, int]: pass", "returns", ["-> dict[int, int]", "keys must be str"]),
    ("def get(req, res, x: 'Nowhere'): pass", "forward", ["cannot resolve", "Nowhere"]),
    ("@dataclass\nclass Bad:\n    when: complex\n\n\ndef post(req, res, body: Bad): pass", "field",
     ["'body'", "Bad.when", "complex"]),
    ("class BadTD(TypedDict):\n    k: dict[int, int]\n\n\ndef post(req, res, body: BadTD): pass", "tdfield",
     ["BadTD['k']", "keys must be str"]),
    ("def post(req, res, body: Point, *, data: Annotated[Point, Query('body')]): pass", "query_point",
     ["'data'", "Point"]),
    ("def get(req, res, v: Literal[1.5]): pass", "literalfloat", ["'v'", "Literal"]),
    ("def get(req, res, n: int, /): pass", "positional", ["'n'", "positional-only"]),
    ("def get(req, res, ids: [int]): pass", "listliteral", ["'ids'", "[<class 'int'>]", "not a type"]),
    ("def post(req, res, body: {'name': str}): pass", "dictliteral", ["'body'", "not a type"]),
    ("def get(req, res) -> [int]: pass", "listreturn", ["-> [<class 'int'>]", "not a type"]),
]


@pytest.mark.parametrize(("source", "name", "names"), UNUSABLE, ids=[c[1] for c in UNUSABLE])
def test_r94_an_unusable_annotation_is_a_load_error(tmp_path: Path, source: str, name: str, names: list[str]) -> None:
    pages = write_tree(tmp_path, tree({f"api/{name}.py": source}))
    with pytest.raises(LoadError) as info:
        App(pages)
    message = str(info.value)
    assert info.value.file == str(pages / "api" / f"{name}.py")
    assert message.startswith(str(pages / "api" / f"{name}.py"))
    function = source.rsplit("def ", 1)[1].split("(", 1)[0]
    assert f"{function}()" in message
    for part in names:
        assert part in message, (part, message)


def test_r94_check_lists_every_unusable_annotation(tmp_path: Path) -> None:
    files = {f"api/{name}.py": source for source, name, _ in UNUSABLE}
    files["api/fine.py"] = "def get(req, res, n: int) -> list[int]: return [n]"
    pages = write_tree(tmp_path, tree(files))
    problems = App.check(pages)
    assert sorted(p.file for p in problems if isinstance(p, LoadError)) == sorted(
        str(pages / "api" / f"{name}.py") for _, name, _ in UNUSABLE)
    assert len(problems) == len(UNUSABLE)


def test_r94_nextapi_check_prints_each_unusable_annotation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nextapi.cli import main

    pages = write_tree(tmp_path, tree({
        "api/a.py": "def post(req, res, body: dict[int, str]): pass",
        "api/b/[id].py": "def get(req, res, id: int, q: dict): pass",
        "api/ok.py": "def get(req, res, n: int = 0) -> list[int]: return [n]",
    }))
    assert main(["check", str(pages)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "3 route(s), 2 problem(s)"
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 2
    assert any("api/a.py" in e and "post()" in e and "dict[int, str]" in e for e in errors), errors
    assert any("api/b/[id].py" in e and "get()" in e and "'q'" in e and "dict" in e for e in errors), errors


def test_r94_dev_mode_reports_the_load_error_on_request(make_client: MakeClient) -> None:
    client = make_client(tree({"api/x.py": "def get(req, res, body: dict[int, str]): pass",
                               "api/ok.py": "def get(req, res, n: int = 1): return {'n': n}"}), dev=True)
    resp = client.get("/api/x")
    assert resp.status_code == 500
    assert "dict[int, str]" in resp.json()["error"] and "get()" in resp.json()["error"]
    assert client.get("/api/ok").json() == {"n": 1}


def test_r94_req_and_res_may_be_positional_only(make_client: MakeClient) -> None:
    client = make_client({"api/pos.py": "def get(req, res, /, n: int = 1, *, m: int = 2):\n    return [n, m]\n"})
    assert client.get("/api/pos?n=3&m=4").json() == [3, 4]


def test_r94_two_bodies_are_a_load_error(tmp_path: Path) -> None:
    pages = write_tree(tmp_path, tree({"api/two.py": "def post(req, res, body: Point, b2: Annotated[Point, Query('x')]): pass"}))
    with pytest.raises(LoadError, match="b2"):
        App(pages)


def test_r94_a_bad_pattern_fails_at_load(tmp_path: Path) -> None:
    pages = write_tree(tmp_path, tree({"api/p.py": "def get(req, res, v: Annotated[str, Field(pattern='(')]): pass"}))
    with pytest.raises(LoadError, match="api/p.py"):
        App(pages)


# ---------------------------------------------------------------------------------------------
# pydantic v2 duck typing: validated and documented through the class's own methods
# ---------------------------------------------------------------------------------------------

FAKE_PYDANTIC = """
class FakeValidationError(Exception):
    def __init__(self, errors):
        super().__init__(f"{len(errors)} validation errors")
        self._errors = errors

    def errors(self):
        return self._errors


class User:
    def __init__(self, name, age):
        self.name, self.age = name, age

    @classmethod
    def model_validate(cls, value):
        if not isinstance(value, dict):
            raise FakeValidationError([{"type": "model_type", "loc": (), "msg": "Input should be an object",
                                        "input": value}])
        problems = []
        if "name" not in value:
            problems.append({"type": "missing", "loc": ("name",), "msg": "Field required", "input": value})
        age = value.get("age", 0)
        if not isinstance(age, int):
            problems.append({"type": "int_parsing", "loc": ("age",), "msg": "Input should be a valid integer",
                             "input": age, "url": "https://errors.pydantic.dev/2/v/int_parsing"})
        for i, tag in enumerate(value.get("tags", [])):
            if not isinstance(tag, str):
                problems.append({"type": "string_type", "loc": ("tags", i), "msg": "Input should be a valid string",
                                 "input": tag})
        if problems:
            raise FakeValidationError(problems)
        return cls(value["name"], age)

    @classmethod
    def model_json_schema(cls, ref_template="#/$defs/{model}"):
        return {"title": "User", "type": "object", "properties": {"name": {"type": "string"}}}

    def model_dump(self, mode="python"):
        return {"name": self.name, "age": self.age, "mode": mode}


class Picky:
    @classmethod
    def model_validate(cls, value):
        raise ValueError("nothing pleases me")

    @classmethod
    def model_json_schema(cls, ref_template="#/$defs/{model}"):
        return {"title": "Picky"}


@dataclass
class Team:
    lead: User
    members: list[User] = field(default_factory=list)


def post(req, res, body: User) -> User:
    assert isinstance(body, User)
    return body


def put(req, res, body: Team):
    return {"lead": body.lead.name, "members": [m.name for m in body.members]}


def patch(req, res, body: Picky):
    raise RuntimeError("the handler ran")
"""


def test_pydantic_duck_typed_model(make_client: MakeClient) -> None:
    client = make_client(tree({"api/users.py": FAKE_PYDANTIC}))
    assert client.post("/api/users", json={"name": "ann", "age": 3}).json() == {"name": "ann", "age": 3,
                                                                                "mode": "json"}
    problems = detail(client.post("/api/users", json={"age": "x", "tags": ["a", 1]}))
    assert problems == [
        {"loc": ["body", "name"], "msg": "Field required", "type": "missing"},
        {"loc": ["body", "age"], "msg": "Input should be a valid integer", "type": "int_parsing"},
        {"loc": ["body", "tags", 1], "msg": "Input should be a valid string", "type": "string_type"},
    ]
    assert detail(client.post("/api/users", json=[1])) == [
        {"loc": ["body"], "msg": "Input should be an object", "type": "model_type"}]


def test_pydantic_duck_typed_model_nested_in_a_dataclass(make_client: MakeClient) -> None:
    client = make_client(tree({"api/users.py": FAKE_PYDANTIC}))
    assert client.put("/api/users", json={"lead": {"name": "a"}, "members": [{"name": "b"}]}).json() == {
        "lead": "a", "members": ["b"]}
    problems = detail(client.put("/api/users", json={"lead": {"name": "a", "age": "old"}, "members": [{}]}))
    assert [(p["loc"], p["type"]) for p in problems] == [
        (["body", "lead", "age"], "int_parsing"), (["body", "members", 0, "name"], "missing")]


def test_pydantic_duck_typed_plain_exception(make_client: MakeClient) -> None:
    client = make_client(tree({"api/users.py": FAKE_PYDANTIC}))
    assert detail(client.patch("/api/users", json={})) == [
        {"loc": ["body"], "msg": "nothing pleases me", "type": "value_error"}]


def test_pydantic_duck_typed_model_is_not_for_text(tmp_path: Path) -> None:
    source = FAKE_PYDANTIC + "\n\ndef get(req, res, u: User): pass\n"
    with pytest.raises(LoadError, match="User"):
        App(write_tree(tmp_path, tree({"api/users.py": source})))


def test_pydantic_real_model(make_client: MakeClient) -> None:
    try:
        import pydantic  # noqa: F401
    except ImportError:
        pytest.skip("pydantic is not installed: the real-model test needs pydantic v2")
    client = make_client({"api/real.py": """
import datetime
from pydantic import BaseModel, Field


class Item(BaseModel):
    name: str = Field(min_length=1)
    price: float
    when: datetime.date | None = None


def post(req, res, body: Item) -> Item:
    return body.model_copy(update={"price": body.price * 2})
"""})
    assert client.post("/api/real", json={"name": "a", "price": 1.5, "when": "2024-01-02"}).json() == {
        "name": "a", "price": 3.0, "when": "2024-01-02"}
    problems = detail(client.post("/api/real", json={"name": "", "price": "x"}))
    assert [(p["loc"], p["type"]) for p in problems] == [
        (["body", "name"], "string_too_short"), (["body", "price"], "float_parsing")]


# --- the typed body read once, and kept for req.body ---------------------------------------------
KEPT = {
    "api/kept.py": """
def post(req, res, body: Any):
    return {"same": req.body is body, "body": body}


def put(req, res, body: Point) -> Point:
    return body
""",
    "_middleware.py": """
def middleware(req, res, next):
    if req.headers.get("x-read-first"):
        req.body  # read before the handler's inputs are bound
    return next()
""",
}


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> Client:
    return Client(App(write_tree(tmp_path_factory.mktemp("kept"), tree(KEPT))))


@pytest.mark.parametrize("ctype", ["application/json", "application/json; charset=utf-8", "Application/JSON",
                                   "application/vnd.api+json", None])
@pytest.mark.parametrize("first", [False, True])
def test_r92_the_typed_body_is_req_body(kept: Client, ctype: str | None, first: bool) -> None:
    headers = {"x-read-first": "1"} if first else {}
    if ctype is not None:
        headers["Content-Type"] = ctype
    resp = kept.post("/api/kept", body=b'{"a": [1, 2]}', headers=headers)
    assert resp.status_code == 200, resp.text
    # with no Content-Type the body is read as JSON all the same, while req.body is its text (R23)
    assert resp.json() == {"same": ctype is not None, "body": {"a": [1, 2]}}
    resp = kept.put("/api/kept", body=b'{"x": 1, "z": 0}', headers=headers)
    assert (resp.status_code, resp.json()) == (200, {"x": 1, "y": 0})
    for bad in (b"{", b"\xff", b"[" * 2000 + b"]" * 2000):
        resp = kept.put("/api/kept", body=bad, headers=headers)
        assert (resp.status_code, resp.json()) == (400, {"error": "Invalid JSON"}), bad
    resp = kept.put("/api/kept", body=b'{"x": "1"}', headers=headers)
    assert detail(resp) == [{"loc": ["body", "x"], "msg": "Input should be a valid integer", "type": "int_type",
                             "input": "1"}]
