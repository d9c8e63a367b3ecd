"""Property-based tests (Hypothesis) for the parsers and the router (issue 5).

Two kinds of property, for each of cookies, query, body, multipart and routing:
arbitrary input never raises anything but the framework's own 4xx HTTPError,
and what a well-behaved client encodes parses back to what it meant. Example
counts are bounded so the whole file runs in a few seconds.
"""
from __future__ import annotations

import io
import json
import string
from itertools import pairwise
from typing import Any
from urllib.parse import quote, urlencode
from wsgiref.validate import validator

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from nextapi import App
from nextapi.body import parse_body, read_body
from nextapi.cookies import parse_cookies
from nextapi.errors import HTTPError
from nextapi.limits import Limits
from nextapi.multipart import parse_multipart
from nextapi.query import parse_query, parse_query_bytes
from nextapi.routing import STATIC, Route, compile_routes, match, parse_segment
from tests.helpers import write_tree

FEW = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SOME = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.function_scoped_fixture])

# Text with the characters parsers trip on made common.
NASTY = st.text(st.one_of(st.characters(), st.sampled_from(list('%&=;+"\\ \t\r\n,\x00\xa0\xff[]{}-'))))
NASTY_BYTES = st.one_of(st.binary(), NASTY.map(lambda s: s.encode("utf-8", "surrogatepass")))


def only_4xx(fn, *args, **kw) -> Any:
    try:
        return fn(*args, **kw)
    except HTTPError as exc:
        assert 400 <= exc.status < 500, exc
        return exc


# --- cookies ----------------------------------------------------------------------------

ENCODE_URI_COMPONENT_SAFE = "-_.!~*'()"
TOKEN = st.text(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~", min_size=1, max_size=12)


@FEW
@given(st.one_of(NASTY, st.binary()), st.integers(1, 200), st.integers(1, 20))
def test_cookies_never_raise_and_respect_limits(header, max_length, max_count):
    out = parse_cookies(header, max_length, max_count)
    assert isinstance(out, dict) and len(out) <= max_count
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in out.items())


@FEW
@given(st.dictionaries(TOKEN, st.text(st.characters(exclude_categories=("Cs",)), max_size=20), max_size=8))
def test_cookies_round_trip_what_set_cookie_encodes(jar):
    # res.set_cookie encodes values as encodeURIComponent does; req.cookies decodes them.
    header = "; ".join(f"{k}={quote(v, safe=ENCODE_URI_COMPONENT_SAFE)}" for k, v in jar.items())
    assert parse_cookies(header) == jar


@FEW
@given(st.lists(st.tuples(TOKEN, st.text("abc;= \"\\", max_size=10)), max_size=6), TOKEN, st.text("xyz", max_size=5))
def test_a_cookie_is_never_swallowed_by_a_quote_before_it(junk, name, value):
    # Whatever comes before, a well-formed cookie after a ';' is read as itself (first one wins).
    assume(all(k != name for k, _ in junk))
    header = "; ".join(f"{k}={v}" for k, v in junk) + f"; {name}={value}"
    assert parse_cookies(header).get(name) == value


# --- query strings and forms -------------------------------------------------------------

PAIRS = st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=10)


def grouped(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        out[k] = [*out[k], v] if isinstance(out.get(k), list) else [out[k], v] if k in out else v
    return out


def no_surrogates(pairs: list[tuple[str, str]]) -> bool:
    return all(not ("\ud800" <= c <= "\udfff") for kv in pairs for s in kv for c in s)


@FEW
@given(NASTY, st.integers(1, 50))
def test_query_never_raises_but_too_many_fields(qs, max_fields):
    out = only_4xx(parse_query, qs, max_fields)
    if isinstance(out, HTTPError):
        assert out.status == 400 and len([p for p in qs.split("&") if p]) > max_fields
    else:
        assert sum(len(v) if isinstance(v, list) else 1 for v in out.values()) <= max_fields


@FEW
@given(PAIRS)
def test_query_round_trips_urlencode(pairs):
    assume(no_surrogates(pairs))
    assume(all(k or v for k, v in pairs))  # urlencode writes "=" for an empty pair: that is a pair
    encoded = urlencode(pairs)
    assert parse_query(encoded) == grouped(pairs)
    assert parse_query_bytes(encoded.encode()) == grouped(pairs)


@FEW
@given(st.text(string.printable))
def test_query_fast_path_matches_the_byte_path(qs):
    assert parse_query(qs) == parse_query_bytes(qs.encode("ascii"))


# --- bodies ----------------------------------------------------------------------------

CONTENT_TYPES = st.one_of(
    st.sampled_from([None, "", "application/json", "application/ld+json", "application/x+json",
                     "application/x-www-form-urlencoded", "text/plain", "text/plain; charset=latin-1",
                     "text/html; charset=utf-16", "text/plain; charset=nope", "application/octet-stream"]),
    NASTY.map(lambda s: "text/" + s),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@FEW
@given(NASTY_BYTES, CONTENT_TYPES, st.integers(1, 80))
def test_body_parse_never_raises_but_4xx(raw, ctype, depth):
    only_4xx(parse_body, raw, ctype, max_fields=20, max_depth=depth)


@FEW
@given(JSON_VALUES)
def test_json_round_trips(value):
    raw = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    assume(not any("\ud800" <= c <= "\udfff" for c in raw.decode("utf-8", "surrogatepass")))
    assert parse_body(raw, "application/json") == value


@FEW
@given(st.integers(1, 90), st.integers(1, 90), st.sampled_from(["[", "{\"k\":"]))
def test_json_depth_limit_is_exact(depth, limit, opener):
    closer = "]" if opener == "[" else "}"
    raw = (opener * depth + "1" + closer * depth).encode()
    out = only_4xx(parse_body, raw, "application/json", max_depth=limit)
    assert isinstance(out, HTTPError) == (depth > limit)


class Trickle(io.RawIOBase):
    """An input that returns fewer bytes than asked, as sockets do, and counts them."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step, self.pos = data, step, 0

    def read(self, size: int = -1) -> bytes:
        n = min(self.step, size if size >= 0 else len(self.data))
        chunk = self.data[self.pos:self.pos + n]
        self.pos += len(chunk)
        return chunk


@FEW
@given(st.binary(max_size=3000), st.integers(0, 3000), st.integers(1, 700), st.booleans())
def test_read_body_never_past_the_limit(data, limit, step, chunked):
    stream = Trickle(data, step)
    env: dict[str, Any] = {"wsgi.input": stream}
    if chunked:
        env["wsgi.input_terminated"] = True
    else:
        env["CONTENT_LENGTH"] = str(len(data))
    out = only_4xx(read_body, env, limit, "x")
    if len(data) > limit:
        assert isinstance(out, HTTPError) and out.status == 413
        assert stream.pos <= (limit + 1 if chunked else 0)
    else:
        assert out == (data if data or not chunked else None)


# --- multipart --------------------------------------------------------------------------

BCHARS = string.ascii_letters + string.digits + "'()+_,-./:=?"
BOUNDARY = st.text(BCHARS, min_size=8, max_size=70)
NAME = st.text(st.characters(exclude_characters='"\r\n\\', exclude_categories=("Cs",)), min_size=1, max_size=10)
FIELDS = st.lists(st.tuples(NAME, st.text(st.characters(exclude_categories=("Cs",)), max_size=30)), max_size=5)
FILES = st.lists(st.tuples(NAME, NAME, st.binary(max_size=300)), max_size=4)


def encode_form(boundary: str, fields, files) -> bytes:
    out = []
    for name, value in fields:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                   + value.encode() + b"\r\n")
    for name, filename, data in files:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                   f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(out) + f"--{boundary}--\r\n".encode()


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in pairwise(points)]


@FEW
@given(BOUNDARY, FIELDS, FILES, st.lists(st.integers(0, 10**6), max_size=12))
def test_multipart_round_trips_however_it_is_cut(boundary, fields, files, cuts):
    body = encode_form(boundary, fields, files)
    delimiter = b"\r\n--" + boundary.encode()
    for _, value in fields:
        assume(delimiter not in b"\r\n" + value.encode() + b"\r\n")
    for _, _, data in files:
        assume(delimiter not in b"\r\n" + data + b"\r\n")
    form, uploads = parse_multipart(chunked(body, cuts), f"multipart/form-data; boundary={boundary}")
    assert form == grouped(fields)
    got = {}
    for name, value in uploads.items():
        got[name] = [(u.filename, u.read()) for u in (value if isinstance(value, list) else [value])]
    want: dict[str, list] = {}
    for name, filename, data in files:
        want.setdefault(name, []).append((filename, data))
    assert got == want


@FEW
@given(NASTY_BYTES, st.lists(st.integers(0, 10**6), max_size=6), st.integers(1, 30))
def test_multipart_arbitrary_bytes_only_4xx(body, cuts, max_fields):
    limits = Limits(max_fields=max_fields, max_part_header_size=64, max_field_size=200)
    for prefix in (b"", b"--B\r\n", b"--B\r\nContent-Disposition: form-data; name=a\r\n\r\n"):
        only_4xx(parse_multipart, chunked(prefix + body, cuts), "multipart/form-data; boundary=B", limits)


@FEW
@given(BOUNDARY, FIELDS, FILES, st.data())
def test_multipart_truncated_is_400(boundary, fields, files, data):
    body = encode_form(boundary, fields, files)
    # Cutting "\r\n" after the close delimiter leaves a whole form; cutting 3 bytes or more does not.
    cut = data.draw(st.integers(3, len(body) - 1))
    out = only_4xx(parse_multipart, [body[:-cut]], f"multipart/form-data; boundary={boundary}")
    assert isinstance(out, HTTPError) and out.status == 400


# --- router -------------------------------------------------------------------------------

ROUTE_FILES = [
    "api/index", "api/users", "api/users/[id]", "api/users/[id]/posts", "api/users/me",
    "api/[org]/settings", "api/docs/[...slug]", "api/shop/[[...path]]", "api/a/b/c",
]


def synthetic_routes() -> list[Route]:
    routes = []
    for rel in ROUTE_FILES:
        parts = rel.split("/")
        if parts[-1] == "index":
            parts.pop()
        routes.append(Route(f"/x/{rel}.py", rel + ".py", tuple(parse_segment(p, rel) for p in parts)))
    return routes


ROUTES = synthetic_routes()
ROOT = compile_routes(ROUTES)
SEGMENT = st.one_of(st.sampled_from(["api", "users", "me", "posts", "settings", "docs", "shop", "a", "b", "c",
                                     "", "1", "..", "x.py"]), st.text(max_size=6))


@FEW
@given(st.lists(SEGMENT, max_size=8))
def test_router_match_is_consistent(segs):
    found = match(ROOT, segs)
    if found is None:
        return
    route, params = found
    rebuilt: list[str] = []
    for seg in route.segments:
        if seg.kind == STATIC:
            rebuilt.append(seg.name)
        elif seg.name in params:
            value = params[seg.name]
            rebuilt.extend(value if isinstance(value, list) else [value])
    assert rebuilt == segs, (route.pattern, params)
    assert all(v for v in params.values())  # never an empty parameter


@FEW
@given(st.sampled_from(ROUTES), st.lists(st.text(string.ascii_letters + string.digits + "-_~", min_size=1,
                                                  max_size=6), min_size=1, max_size=4))
def test_router_finds_each_route_from_its_pattern(route, values):
    segs, it = [], iter(values * 3)
    for seg in route.segments:
        if seg.kind == STATIC:
            segs.append(seg.name)
        elif seg.kind == 1:
            segs.append(next(it))
        else:
            segs.extend(values)
    found = match(ROOT, segs)
    assert found is not None
    # Static segments win (R4): a value that spells a static name may pick a more specific route.
    if found[0] is not route:
        assert any(v in {"me", "users", "settings", "docs", "shop", "a", "b", "c", "posts"} for v in values)


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


LATIN1 = st.text(st.characters(max_codepoint=255), max_size=40)


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
