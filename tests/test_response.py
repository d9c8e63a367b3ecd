"""The response a handler builds (R30–R37) and returned values (R14), through real requests."""
from __future__ import annotations

import logging
import re
from datetime import datetime, timezone

import pytest

from nextapi import ResponseSentError

MB = 1024 * 1024
JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"


def handler(*lines: str) -> str:
    """A handler module whose body is the given statements."""
    return "def handler(req, res):\n" + "".join(f"    {line}\n" for line in lines)


def one(make_client, *lines: str, path: str = "api/x.py", prefix: str = "", **kw):
    """A client for a single route /api/x made from handler statements."""
    return make_client({path: prefix + handler(*lines)}, **kw)


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "nextapi" and r.levelno == logging.WARNING]


# --- R30: status --------------------------------------------------------------------------


def test_status_is_chainable_and_readable(make_client):
    client = one(make_client, "before = res.status_code",
                 "same = res.status(201) is res",
                 "res.json([before, same, res.status_code])")
    resp = client.get("/api/x")
    assert (resp.status, resp.json()) == (201, [200, True, 201])


@pytest.mark.parametrize("code", [99, 600, 1000, -1, 0, "200", 200.0, True, None])
def test_status_outside_100_599_raises_value_error(make_client, code):
    client = one(make_client, f"res.status({code!r})")
    with pytest.raises(ValueError):
        client.get("/api/x")


@pytest.mark.parametrize("code", [100, 200, 299, 418, 599])
def test_status_edges_are_accepted(make_client, code):
    client = one(make_client, f"got = res.status({code}).status_code", "res.status(200).json(got)")
    assert client.get("/api/x").json() == code


# --- R31: json ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, body",
    [
        ("True", b"true"),
        ("False", b"false"),
        ("None", b"null"),
        ("'hi'", b'"hi"'),
        ("0", b"0"),
        ("1.5", b"1.5"),
        ("[1, 'a', None]", b'[1,"a",null]'),
        ("{'a': 1, 'b': {'c': []}}", b'{"a":1,"b":{"c":[]}}'),
        ("{'e': '\\u20ac'}", '{"e":"\u20ac"}'.encode()),  # UTF-8, not \\u escapes
    ],
)
def test_json_sends_any_json_value(make_client, value, body):
    resp = one(make_client, f"res.json({value})").get("/api/x")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == JSON_TYPE
    assert resp.content == body
    assert resp.headers["Content-Length"] == str(len(body))


def test_json_overrides_an_earlier_content_type(make_client):
    resp = one(make_client, "res.set_header('Content-Type', 'text/html')", "res.json([1])").get("/api/x")
    assert resp.headers["Content-Type"] == JSON_TYPE


@pytest.mark.parametrize(
    "prefix, value, type_name",
    [
        ("class Thing:\n    pass\n", "{'a': Thing()}", "Thing"),
        ("", "object()", "object"),
        ("", "1j", "complex"),
        ("import datetime\n", "datetime.timedelta(1)", "timedelta"),
        ("", "b'bytes'", "bytes"),
    ],
)
def test_json_of_a_non_serialisable_value_is_500_naming_the_type(make_client, prefix, value, type_name):
    client = one(make_client, f"res.json({value})", prefix=prefix, raise_server_exceptions=False)
    resp = client.get("/api/x")
    assert resp.status == 500
    assert resp.headers["Content-Type"].startswith("application/json")
    assert type_name in resp.json()["error"]


def test_send_of_a_non_serialisable_object_is_500_naming_the_type(make_client):
    client = one(make_client, "res.send({'when': Thing()})", prefix="class Thing:\n    pass\n",
                 raise_server_exceptions=False)
    resp = client.get("/api/x")
    assert resp.status == 500 and "Thing" in resp.json()["error"]


def test_json_of_nan_is_500(make_client):
    client = one(make_client, "res.json(float('nan'))", raise_server_exceptions=False)
    assert client.get("/api/x").status == 500


# --- R32: send ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, content_type, body",
    [
        ("{'a': 1}", JSON_TYPE, b'{"a":1}'),
        ("[1, 'a']", JSON_TYPE, b'[1,"a"]'),
        ("42", JSON_TYPE, b"42"),
        ("1.25", JSON_TYPE, b"1.25"),
        ("True", JSON_TYPE, b"true"),
        ("'h\\u00e9llo'", TEXT_TYPE, "h\u00e9llo".encode()),
        ("''", TEXT_TYPE, b""),
        ("b'\\x00\\xff'", "application/octet-stream", b"\x00\xff"),
        ("bytearray(b'ab')", "application/octet-stream", b"ab"),
        ("None", None, b""),
    ],
)
def test_send_encodes_by_type(make_client, value, content_type, body):
    resp = one(make_client, f"res.send({value})").get("/api/x")
    assert resp.status == 200
    if content_type is not None:
        assert resp.headers["Content-Type"] == content_type
    assert resp.content == body
    assert resp.headers["Content-Length"] == str(len(body))


@pytest.mark.parametrize(
    "value, content_type",
    [
        ("{'a': 1}", "application/vnd.api+json"),
        ("'<p>hi</p>'", "text/html; charset=utf-8"),
        ("b'\\x89PNG'", "image/png"),
        ("(c for c in ['a', 'b'])", "text/event-stream"),
    ],
)
def test_a_content_type_set_before_send_is_kept(make_client, value, content_type):
    resp = one(make_client, f"res.set_header('content-type', {content_type!r})",
               f"res.send({value})").get("/api/x")
    assert resp.headers.get_all("Content-Type") == [content_type]


GEN = """
def events():
    for i in range(3):
        yield f"data: {i}\\n\\n"
    yield b"bytes too"
"""


def test_send_of_a_generator_streams_chunk_by_chunk(make_client):
    client = one(make_client, "res.set_header('Content-Type', 'text/event-stream')",
                 "res.send(events())", prefix=GEN)
    resp = client.get("/api/x")
    assert resp.status == 200
    assert resp.chunks == [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n", b"bytes too"]
    assert "Content-Length" not in resp.headers
    assert "ETag" not in resp.headers
    assert resp.headers["Content-Type"] == "text/event-stream"


def test_send_of_a_file_object_streams_it(make_client, tmp_path):
    data = bytes(range(256)) * 1000  # 256 000 bytes
    (tmp_path / "blob.bin").write_bytes(data)
    client = one(make_client, f"res.send(open({str(tmp_path / 'blob.bin')!r}, 'rb'))")
    resp = client.get("/api/x")
    assert resp.content == data
    assert len(resp.chunks) > 1
    assert "Content-Length" not in resp.headers
    assert "ETag" not in resp.headers
    assert resp.headers["Content-Type"] == "application/octet-stream"


def test_a_streamed_file_is_closed_after_the_response(make_client, tmp_path):
    mark = tmp_path / "closed"
    client = make_client({"api/x.py": f"""
import io, pathlib
class Tracked(io.BytesIO):
    def close(self):
        pathlib.Path({str(mark)!r}).touch()
        super().close()
def handler(req, res):
    res.send(Tracked(b"x" * 10))
"""})
    assert client.get("/api/x").content == b"x" * 10
    assert mark.exists()


FAILING_GEN = """
def events():
    yield "first"
    raise RuntimeError("mid-stream failure")
"""


def test_a_stream_that_fails_is_raised_by_the_test_client(make_client):
    client = one(make_client, "res.send(events())", prefix=FAILING_GEN)
    with pytest.raises(RuntimeError, match="mid-stream failure"):
        client.get("/api/x")


def test_a_stream_that_fails_ends_early_and_is_logged(make_client, caplog):
    client = one(make_client, "res.send(events())", prefix=FAILING_GEN, raise_server_exceptions=False)
    resp = client.get("/api/x")
    assert (resp.status, resp.chunks) == (200, [b"first"])  # headers were gone already
    errors = [r for r in caplog.records if r.name == "nextapi" and r.levelno == logging.ERROR]
    assert len(errors) == 1 and "/api/x" in errors[0].getMessage()
    assert isinstance(errors[0].exc_info[1], RuntimeError)


def test_head_of_a_streamed_response_has_no_body(make_client):
    resp = one(make_client, "res.send(events())", prefix=GEN).head("/api/x")
    assert (resp.status, resp.content) == (200, b"")


@pytest.mark.parametrize("status", [204, 304])
@pytest.mark.parametrize(
    "send", ["res.json({'a': 1})", "res.send('x')", "res.send(b'x')", "res.end()",
             "res.send(events())", "res.end('x')"],
)
def test_204_and_304_have_no_body_type_or_length(make_client, status, send):
    resp = one(make_client, f"res.status({status})", send, prefix=GEN).get("/api/x")
    assert resp.status == status
    assert resp.content == b""
    assert "Content-Type" not in resp.headers
    assert "Content-Length" not in resp.headers


# --- R33: end, write, sending twice ----------------------------------------------------------


def test_write_then_end(make_client):
    resp = one(make_client, "res.write('a')", "res.write(b'b').write('\\u20ac')", "res.end('c')").get("/api/x")
    assert resp.content == "ab\u20acc".encode()
    assert resp.headers["Content-Length"] == str(len("ab\u20acc".encode()))


def test_end_without_a_body_is_empty(make_client):
    resp = one(make_client, "res.status(202).end()").get("/api/x")
    assert (resp.status, resp.content, resp.headers["Content-Length"]) == (202, b"", "0")


@pytest.mark.parametrize(
    "first, second",
    [
        ("res.end()", "res.end()"),
        ("res.json(1)", "res.json(2)"),
        ("res.send('a')", "res.end()"),
        ("res.end()", "res.write('x')"),
        ("res.end()", "res.set_header('X-Late', '1')"),
        ("res.end()", "res.status(201)"),
        ("res.redirect('/a')", "res.send('b')"),
        ("res.send(iter([b'a']))", "res.send('b')"),
    ],
)
def test_sending_twice_raises(make_client, first, second):
    client = one(make_client, first, second)
    with pytest.raises(ResponseSentError, match="already sent"):
        client.get("/api/x")


def test_sending_twice_is_reported_to_the_handler(make_client, caplog):
    client = make_client({"api/x.py": """
import logging
def handler(req, res):
    res.end("first")
    try:
        res.end("second")
    except Exception as exc:
        logging.getLogger("nextapi.test").warning("caught %s: %s", type(exc).__name__, exc)
"""})
    resp = client.get("/api/x")
    assert resp.content == b"first"
    caught = [r.getMessage() for r in caplog.records if r.name == "nextapi.test"]
    assert len(caught) == 1 and caught[0].startswith("caught ResponseSentError:")
    assert "already sent" in caught[0]


def test_sending_twice_unhandled_is_a_500(make_client):
    client = one(make_client, "res.end('a')", "res.end('b')", raise_server_exceptions=False)
    resp = client.get("/api/x")
    assert (resp.status, resp.json()) == (500, {"error": "Internal Server Error"})


# --- R34: redirect ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, status, location",
    [
        ("'/x'", 307, "/x"),
        ("301, '/x'", 301, "/x"),
        ("308, 'https://example.com/a?b=1#c'", 308, "https://example.com/a?b=1#c"),
        ("302, '/caf\\u00e9'", 302, "/caf%C3%A9"),
    ],
)
def test_redirect(make_client, args, status, location):
    resp = one(make_client, f"res.redirect({args})").get("/api/x")
    assert resp.status == status
    assert resp.headers["Location"] == location
    assert resp.text == location


@pytest.mark.parametrize("args", ["301", "'/x', 301", "301, 5", "None", "True, '/x'", "'/x', '/y'"])
def test_redirect_with_bad_arguments_raises(make_client, args):
    client = one(make_client, f"res.redirect({args})")
    with pytest.raises(ValueError, match=r"^Invalid redirect arguments"):
        client.get("/api/x")


def test_redirect_cannot_inject_headers(make_client):
    resp = one(make_client, "res.redirect('/x\\r\\nSet-Cookie: a=b')").get("/api/x")
    assert resp.status == 307
    assert "Set-Cookie" not in resp.headers
    assert "\r" not in resp.headers["Location"] and "\n" not in resp.headers["Location"]


# --- R35: headers and cookies -------------------------------------------------------------------


def test_set_header_list_repeats_the_header(make_client):
    resp = one(make_client, "res.set_header('X-Multi', ['a', 'b', 3])", "res.end()").get("/api/x")
    assert resp.headers.get_all("X-Multi") == ["a", "b", "3"]


def test_set_header_replaces_case_insensitively_and_accepts_ints(make_client):
    resp = one(make_client, "res.set_header('x-a', 'old')", "res.set_header('X-A', 5)", "res.end()").get("/api/x")
    assert resp.headers.get_all("X-A") == ["5"]


def test_get_and_remove_header(make_client):
    client = one(
        make_client,
        "res.set_header('X-A', '1').set_header('X-B', ['2', '3']).set_header('X-C', 'c')",
        "seen = [res.get_header('x-a'), res.get_header('X-B'), res.get_header('X-None')]",
        "res.remove_header('x-c').remove_header('X-Never-Set')",
        "res.json(seen)",
    )
    resp = client.get("/api/x")
    assert resp.json() == ["1", ["2", "3"], None]
    assert "X-C" not in resp.headers
    assert resp.headers["X-A"] == "1"


def _cookie_parts(header: str) -> tuple[str, set[str]]:
    first, *attrs = header.split("; ")
    return first, set(attrs)


def test_set_cookie_defaults(make_client):
    resp = one(make_client, "res.set_cookie('sid', 'abc')", "res.end()").get("/api/x")
    assert _cookie_parts(resp.headers["Set-Cookie"]) == ("sid=abc", {"Path=/", "HttpOnly", "SameSite=Lax"})


def test_set_cookie_attributes(make_client):
    client = one(make_client,
                 "import datetime",
                 "when = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)",
                 "res.set_cookie('sid', 'a b;c', max_age=60, expires=when, path='/api', domain='example.com',"
                 " secure=True, http_only=False, same_site='strict')",
                 "res.end()")
    first, attrs = _cookie_parts(client.get("/api/x").headers["Set-Cookie"])
    assert first == "sid=a%20b%3Bc"
    assert attrs == {"Max-Age=60", "Expires=Wed, 02 Jan 2030 03:04:05 GMT", "Path=/api",
                     "Domain=example.com", "Secure", "SameSite=Strict"}


def test_set_cookie_expires_as_timestamp_and_same_site_none(make_client):
    stamp = datetime(2030, 1, 2, tzinfo=timezone.utc).timestamp()
    client = one(make_client, f"res.set_cookie('a', '1', expires={stamp}, same_site='None', secure=True)",
                 "res.end()")
    _, attrs = _cookie_parts(client.get("/api/x").headers["Set-Cookie"])
    assert "Expires=Wed, 02 Jan 2030 00:00:00 GMT" in attrs and "SameSite=None" in attrs


def test_several_cookies_are_several_headers(make_client):
    client = one(make_client, "res.set_cookie('a', '1')", "res.set_cookie('b', '2')", "res.clear_cookie('c')",
                 "res.end()")
    names = [h.split("=", 1)[0] for h in client.get("/api/x").headers.get_all("Set-Cookie")]
    assert names == ["a", "b", "c"]


def test_clear_cookie(make_client):
    client = one(make_client, "res.clear_cookie('sid', path='/api', domain='example.com')", "res.end()")
    first, attrs = _cookie_parts(client.get("/api/x").headers["Set-Cookie"])
    assert first == "sid="
    assert {"Max-Age=0", "Expires=Thu, 01 Jan 1970 00:00:00 GMT", "Path=/api", "Domain=example.com"} <= attrs


@pytest.mark.parametrize("name", ["__Host-sid", "__Secure-token", "_ga", "csrf_token_", "a.b", "x!#$%&'*+^`|~"])
def test_set_cookie_accepts_token_names(make_client, name):
    # RFC 6265 cookie names are tokens: the __Host- / __Secure- prefixes and _ga are everyday names.
    resp = one(make_client, f"res.set_cookie({name!r}, 'v', secure=True)", "res.end()").get("/api/x")
    assert resp.headers["Set-Cookie"].startswith(f"{name}=v;")


def test_cookie_values_are_percent_encoded_so_they_cannot_inject(make_client):
    resp = one(make_client, "res.set_cookie('a', 'x\\r\\nSet-Cookie: b=1\\x00;')", "res.end()").get("/api/x")
    assert resp.headers.get_all("Set-Cookie")[0].startswith("a=x%0D%0ASet-Cookie%3A%20b%3D1%00%3B;")
    assert len(resp.headers.get_all("Set-Cookie")) == 1


@pytest.mark.parametrize(
    "stmt",
    [
        "res.set_header('X-A', 'a\\r\\nSet-Cookie: x=y')",
        "res.set_header('X-A', 'a\\nb')",
        "res.set_header('X-A', 'a\\rb')",
        "res.set_header('X-A', 'a\\x00b')",
        "res.set_header('X-A', ['ok', 'b\\r\\nc'])",
        "res.set_header('X-A\\r\\nX-B', 'v')",
        "res.set_header('X-A\\n', 'v')",
        "res.set_header('X-A\\x00', 'v')",
        "res.set_header('', 'v')",
        "res.set_header('X A', 'v')",
        "res.set_cookie('a\\r\\nb', 'v')",
        "res.set_cookie('a\\x00', 'v')",
        "res.set_cookie('a b', 'v')",
        "res.set_cookie('a=b', 'v')",
        "res.set_cookie('a', 'v', domain='example.com\\r\\nX-B: 1')",
        "res.set_cookie('a', 'v', path='/\\n')",
        "res.set_cookie('a', 'v', path='/\\x00')",
        "res.set_cookie('a', 'v', same_site='sometimes')",
        "res.clear_cookie('a', domain='x\\ny')",
    ],
)
def test_control_characters_in_headers_and_cookies_raise(make_client, stmt):
    client = one(make_client, stmt, "res.end()")
    with pytest.raises(ValueError):
        client.get("/api/x")


def test_header_values_outside_latin1_raise(make_client):
    client = one(make_client, "res.set_header('X-A', '\u20ac')", "res.end()")
    with pytest.raises(ValueError, match="Latin-1"):
        client.get("/api/x")


@pytest.mark.parametrize("name", ["Connection", "Transfer-Encoding", "Keep-Alive", "Upgrade"])
def test_hop_by_hop_headers_are_left_to_the_server(make_client, name):
    resp = one(make_client, f"res.set_header({name!r}, 'x')", "res.send('ok')").get("/api/x")
    assert (resp.status, resp.text) == (200, "ok")
    assert name not in resp.headers


def test_content_length_is_always_computed(make_client):
    resp = one(make_client, "res.set_header('Content-Length', '999')", "res.send('abc')").get("/api/x")
    assert resp.headers.get_all("Content-Length") == ["3"]


def test_a_refused_header_never_reaches_the_wire(make_client):
    client = one(make_client, "res.set_header('X-A', 'a\\r\\nX-Injected: 1')", "res.end()",
                 raise_server_exceptions=False)
    resp = client.get("/api/x")
    assert resp.status == 500
    assert "X-Injected" not in resp.headers and "X-A" not in resp.headers


# --- R36: ETag ------------------------------------------------------------------------------------


ETAG_ROUTES = {
    "api/j.py": handler("res.json({'a': req.query.get('v', 1)})"),
    "api/off.py": "config = {'etag': False}\n" + handler("res.json({'a': 1})"),
    "api/s.py": GEN + handler("res.send(events())"),
    "api/own.py": handler("res.set_header('ETag', '\"v1\"')", "res.send('mine')"),
}


@pytest.fixture
def etags(make_client):
    return make_client(ETAG_ROUTES)


def test_get_and_head_carry_the_same_strong_etag(etags):
    get, head = etags.get("/api/j"), etags.head("/api/j")
    tag = get.headers["ETag"]
    assert re.fullmatch(r'"[^"]+"', tag)  # strong: quoted, no W/
    assert head.headers["ETag"] == tag
    assert head.content == b"" and head.headers["Content-Length"] == get.headers["Content-Length"]


def test_etag_follows_the_body(etags):
    assert etags.get("/api/j?v=1").headers["ETag"] == etags.get("/api/j?v=1").headers["ETag"]
    assert etags.get("/api/j?v=1").headers["ETag"] != etags.get("/api/j?v=2").headers["ETag"]


@pytest.mark.parametrize(
    "inm, status",
    [
        ("{tag}", 304),
        ("W/{tag}", 304),
        ('"zzz", {tag}', 304),
        ('"zzz",{tag} , "y"', 304),
        ("*", 304),
        ('"zzz"', 200),
        ('W/"zzz"', 200),
        ("{tag}x", 200),
        ("", 200),
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_if_none_match(etags, inm, status, method):
    tag = etags.get("/api/j").headers["ETag"]
    resp = etags.request(method, "/api/j", headers={"If-None-Match": inm.format(tag=tag)})
    assert resp.status == status
    if status == 304:
        assert resp.content == b""
        assert resp.headers["ETag"] == tag
        assert "Content-Type" not in resp.headers and "Content-Length" not in resp.headers
    elif method == "GET":
        assert resp.json() == {"a": 1}


def test_etag_off_by_config(etags):
    resp = etags.get("/api/off", headers={"If-None-Match": "*"})
    assert resp.status == 200
    assert "ETag" not in resp.headers
    assert resp.json() == {"a": 1}


def test_streamed_responses_have_no_etag(etags):
    resp = etags.get("/api/s", headers={"If-None-Match": "*"})
    assert resp.status == 200
    assert "ETag" not in resp.headers
    assert len(resp.chunks) == 4


def test_post_is_never_answered_304(etags):
    resp = etags.post("/api/j", headers={"If-None-Match": "*"})
    assert (resp.status, resp.json()) == (200, {"a": 1})


def test_an_etag_set_by_the_handler_is_used(etags):
    assert etags.get("/api/own").headers.get_all("ETag") == ['"v1"']
    assert etags.get("/api/own", headers={"If-None-Match": 'W/"v1"'}).status == 304


def test_errors_carry_no_etag(make_client):
    client = one(make_client, "res.status(404).json({'error': 'nope'})")
    resp = client.get("/api/x", headers={"If-None-Match": "*"})
    assert resp.status == 404 and "ETag" not in resp.headers


# --- R37: response size warning ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "send, size, warned",
    [
        ("res.send(b'x' * {n})", 4 * MB, True),
        ("res.send(b'x' * {n})", 4 * MB - 1, False),
        ("res.send('x' * {n})", 5 * MB, True),
        ("res.json('x' * ({n} - 2))", 4 * MB, True),
        ("res.write(b'x' * ({n} - 1)); res.end(b'y')", 4 * MB, True),
    ],
)
def test_big_responses_are_sent_with_a_warning(make_client, caplog, send, size, warned):
    resp = one(make_client, send.format(n=size), path="api/big.py").get("/api/big?q=1")
    assert (resp.status, len(resp.content)) == (200, size)
    warned_lines = [m for m in warnings_of(caplog) if "exceeds" in m]
    if warned:
        assert len(warned_lines) == 1
        assert warned_lines[0].startswith("API response for /api/big exceeds 4MB")
    else:
        assert warned_lines == []


@pytest.mark.parametrize(
    "limit, size, text",
    [
        ("'1kb'", 1024, "exceeds 1KB"),
        ("2048", 2048, "exceeds 2KB"),
        ("'8mb'", 8 * MB, "exceeds 8MB"),
        ("'8mb'", 5 * MB, None),
        ("False", 5 * MB, None),
    ],
)
def test_response_limit_config(make_client, caplog, limit, size, text):
    client = one(make_client, f"res.send(b'x' * {size})", path="api/big.py",
                 prefix=f"config = {{'response_limit': {limit}}}\n")
    assert len(client.get("/api/big").content) == size
    found = [m for m in warnings_of(caplog) if "exceeds" in m]
    if text is None:
        assert found == []
    else:
        assert found and found[0].startswith(f"API response for /api/big {text}")


# --- R14: returned values -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, content_type, body",
    [
        ("{'ok': True}", JSON_TYPE, b'{"ok":true}'),
        ("[1, 2]", JSON_TYPE, b"[1,2]"),
        ("'hello'", TEXT_TYPE, b"hello"),
        ("b'\\x01'", "application/octet-stream", b"\x01"),
        ("0", JSON_TYPE, b"0"),
        ("False", JSON_TYPE, b"false"),
    ],
)
def test_returned_value_is_sent(make_client, value, content_type, body):
    resp = one(make_client, f"return {value}").get("/api/x")
    assert (resp.status, resp.headers["Content-Type"], resp.content) == (200, content_type, body)


def test_returned_value_keeps_status_and_headers(make_client):
    resp = one(make_client, "res.status(201).set_header('X-A', '1')", "return {'id': 7}").post("/api/x")
    assert (resp.status, resp.headers["X-A"], resp.json()) == (201, "1", {"id": 7})


def test_returned_value_after_sending_is_ignored(make_client):
    assert one(make_client, "res.send('sent')", "return {'ignored': True}").get("/api/x").text == "sent"


def test_returning_none_without_sending_gives_empty_body_with_current_status(make_client, caplog):
    resp = one(make_client, "res.status(202).set_header('X-A', '1')").get("/api/x")
    assert (resp.status, resp.content, resp.headers["X-A"]) == (202, b"", "1")
    assert not [m for m in warnings_of(caplog) if "without sending" in m]  # production: silent


def test_dev_warns_when_resolved_without_sending(make_client, caplog):
    resp = one(make_client, "pass", dev=True).get("/api/x?q=1")
    assert (resp.status, resp.content) == (200, b"")
    found = [m for m in warnings_of(caplog) if "without sending" in m]
    assert len(found) == 1
    assert found[0].startswith("API resolved without sending a response for /api/x")


def test_dev_does_not_warn_with_external_resolver(make_client, caplog):
    client = one(make_client, "pass", prefix="config = {'external_resolver': True}\n", dev=True)
    assert client.get("/api/x").status == 200
    assert not [m for m in warnings_of(caplog) if "without sending" in m]


def test_dev_does_not_warn_when_a_response_was_sent(make_client, caplog):
    one(make_client, "res.end()", dev=True).get("/api/x")
    one(make_client, "return 'x'", path="api/y.py", dev=True).get("/api/y")
    assert not [m for m in warnings_of(caplog) if "without sending" in m]


@pytest.mark.parametrize("value, ctype, body", [
    ("{'ok': True}", "application/json; charset=utf-8", b'{"ok":true}'),
    ("[1, 2]", "application/json; charset=utf-8", b"[1,2]"),
    ("'hi'", "text/plain; charset=utf-8", b"hi"),
    ("b'raw'", "application/octet-stream", b"raw"),
    ("42", "application/json; charset=utf-8", b"42"),
])
def test_returned_values_are_sent(make_client, value, ctype, body):
    client = make_client({"api/r.py": f"def handler(req, res):\n    return {value}\n"})
    resp = client.get("/api/r")
    assert (resp.status, resp.headers["Content-Type"], resp.content) == (200, ctype, body)


def test_a_value_returned_after_res_send_is_not_sent(make_client):
    client = make_client({"api/r.py": "def handler(req, res):\n    res.send('sent')\n    return {'ignored': 1}\n"})
    assert client.get("/api/r").text == "sent"


def test_returning_none_without_sending_finishes_with_current_status(make_client, caplog):
    client = make_client({"api/r.py": "def handler(req, res):\n    res.status(202)\n"})
    resp = client.get("/api/r")
    assert (resp.status, resp.content) == (202, b"")
    assert "API resolved without sending a response" not in caplog.text  # only in dev


def test_dev_warns_when_resolved_without_a_response(make_client, caplog):
    client = make_client({"api/r.py": "def handler(req, res):\n    pass\n",
                          "api/ext.py": "config = {'external_resolver': True}\ndef handler(req, res):\n    pass\n"},
                         dev=True)
    assert client.get("/api/r").status == 200
    assert "API resolved without sending a response for /api/r" in caplog.text
    caplog.clear()
    client.get("/api/ext")
    assert "API resolved without sending a response" not in caplog.text


def test_returning_res_itself_is_not_a_value_to_send(make_client):
    client = make_client({"api/r.py": "def handler(req, res):\n    return res.status(201)\n"})
    resp = client.get("/api/r")
    assert (resp.status, resp.content) == (201, b"")


def test_returning_a_set_sends_an_array_and_an_object_is_a_500_naming_the_type(make_client):
    client = make_client({"api/r.py": "def handler(req, res):\n    return {3} if req.query.get('s') else object()\n"},
                         raise_server_exceptions=False)
    assert client.get("/api/r?s=1").json() == [3]  # R31: sets and tuples are arrays
    resp = client.get("/api/r")
    assert resp.status == 500
    assert "object" in resp.json()["error"]


# --- R31 (amended): the JSON types res.json sends, and always valid UTF-8 ------------------

TYPES = '''
import dataclasses, datetime, decimal, enum, uuid

class Colour(enum.Enum):
    RED = "red"
    ONE = 1

@dataclasses.dataclass
class Point:
    x: int
    when: datetime.date
    tags: tuple = ()
'''


@pytest.mark.parametrize("value, expected", [
    ("Point(1, datetime.date(2024, 2, 3), ('a',))", {"x": 1, "when": "2024-02-03", "tags": ["a"]}),
    ("datetime.datetime(2024, 1, 2, 3, 4, 5)", "2024-01-02T03:04:05"),  # naive stays naive
    ("datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))",
     "2024-01-02T03:04:05+02:00"),  # aware keeps its offset
    ("datetime.time(13, 30)", "13:30:00"),
    ("uuid.UUID(int=1)", "00000000-0000-0000-0000-000000000001"),
    ("decimal.Decimal('1.10')", "1.10"),
    ("[Colour.RED, Colour.ONE]", ["red", 1]),
    ("(1, 2)", [1, 2]),
    ("{'s': {7}, 'f': frozenset()}", {"s": [7], "f": []}),
    ("[Point(2, datetime.date(2000, 1, 1))]", [{"x": 2, "when": "2000-01-01", "tags": []}]),
])
def test_json_sends_dataclasses_dates_uuid_decimal_enum_tuples_and_sets(make_client, value, expected):
    client = one(make_client, f"res.json({value})", prefix=TYPES)
    resp = client.get("/api/x")
    assert (resp.status, resp.headers["Content-Type"], resp.json()) == (200, JSON_TYPE, expected)
    returned = one(make_client, f"return {value}", prefix=TYPES, path="api/y.py")
    assert returned.get("/api/y").json() == expected  # a returned value is sent the same way


@pytest.mark.parametrize("value", ['"\\ud800"', '{"k\\udfff": ["a\\udc00b"]}', '"\\ud83d\\ude00"'])
def test_lone_surrogates_are_escaped_so_the_body_is_valid_utf8(make_client, value):
    client = one(make_client, f"res.json(__import__('json').loads({value!r}))")
    resp = client.get("/api/x")
    assert resp.status == 200
    resp.content.decode("utf-8")  # strict
    import json
    assert resp.json() == json.loads(value)


def test_a_lone_surrogate_the_client_sent_is_echoed_not_a_500(make_client):
    client = one(make_client, "return req.body")
    resp = client.post("/api/x", body=b'{"a": "\\ud800"}', headers={"content-type": "application/json"})
    assert resp.status == 200
    assert resp.content == b'{"a":"\\ud800"}'


# --- R36 (amended): conditional requests only for GET and HEAD -----------------------------


def test_post_with_a_matching_if_none_match_is_not_a_304(make_client):
    client = one(make_client, "return {'n': 1}")
    tag = client.get("/api/x").headers["ETag"]
    resp = client.post("/api/x", headers={"If-None-Match": tag})
    assert (resp.status, resp.json()) == (200, {"n": 1})  # the handler ran: its answer stands
    assert resp.headers["ETag"] is None
    for method in ("PUT", "DELETE", "PATCH"):
        assert client.request(method, "/api/x", headers={"If-None-Match": "*"}).status == 200


def test_a_304_carries_no_content_length_or_type_and_head_matches_get(make_client):
    client = one(make_client, "return {'n': 1}")
    get = client.get("/api/x")
    head = client.head("/api/x")
    assert head.headers.items() == get.headers.items() and head.content == b""
    for method in ("GET", "HEAD"):
        resp = client.request(method, "/api/x", headers={"If-None-Match": get.headers["ETag"]})
        assert resp.status == 304 and resp.content == b""
        assert resp.headers["Content-Length"] is None and resp.headers["Content-Type"] is None
        assert resp.headers["ETag"] == get.headers["ETag"]


# --- R33 (amended), R37 (amended): the Next.js dev warnings ---------------------------------


@pytest.mark.parametrize("status", [204, 304])
def test_dev_warns_in_nextjs_words_when_a_body_is_sent_with_204_or_304(make_client, caplog, status):
    client = one(make_client, f"res.status({status}).send('ignored')", dev=True)
    resp = client.get("/api/x")
    assert (resp.status, resp.content) == (status, b"")
    assert (f"A body was attempted to be set with a {status} statusCode for /api/x, this is invalid "
            "and the body was ignored.") in warnings_of(caplog)


def test_no_body_warning_for_an_empty_204_or_outside_dev(make_client, caplog):
    one(make_client, "res.status(204).end()", dev=True).get("/api/x")
    one(make_client, "res.status(204).send('x')", path="api/y.py").get("/api/y")
    assert not [w for w in warnings_of(caplog) if "attempted" in w]


def test_a_streamed_body_over_the_limit_warns_once(make_client, caplog):
    client = one(make_client, "res.send(b'x' * 65536 for _ in range(100))")  # 6.25 MB in 64 KiB chunks
    resp = client.get("/api/x")
    assert len(resp.content) == 100 * 65536
    assert warnings_of(caplog).count("API response for /api/x exceeds 4MB. "
                                     "API Routes are meant to respond quickly.") == 1
    caplog.clear()
    small = one(make_client, "res.send(b'x' * 65536 for _ in range(10))", path="api/s.py")
    small.get("/api/s")
    assert not [w for w in warnings_of(caplog) if "exceeds" in w]


# --- R106: res.after() runs once the response is out ---------------------------------------

AFTER = """
import os, asyncio
LOG = os.environ["AFTER_LOG"]

def note(text):
    with open(LOG, "a") as f:
        f.write(text + "\\n")

async def anote(text):
    await asyncio.sleep(0)
    note(text)

def handler(req, res):
    res.after(note, "first")
    res.after(anote, "async")
    if req.query.get("fail"):
        res.after(lambda: 1 / 0)
        res.after(note, "after-the-failure")
    if req.query.get("stream"):
        def chunks():
            note("streaming")
            yield "a"
            yield "b"
        res.send(chunks())
        return None
    note("handler")
    return {"ok": True}
"""


def test_after_runs_once_the_body_is_out_in_order_and_survives_a_failure(make_client, tmp_path, monkeypatch, caplog):
    log = tmp_path / "after.log"
    monkeypatch.setenv("AFTER_LOG", str(log))
    client = make_client({"api/x.py": AFTER})
    assert client.get("/api/x").json() == {"ok": True}
    assert log.read_text().split() == ["handler", "first", "async"]
    log.unlink()
    assert client.get("/api/x?stream=1").content == b"ab"
    assert log.read_text().split() == ["streaming", "first", "async"]  # after the last chunk
    log.unlink()
    assert client.get("/api/x?fail=1").status == 200  # a failing callback changes nothing
    assert log.read_text().split() == ["handler", "first", "async", "after-the-failure"]
    assert any("res.after() callback" in r.getMessage() for r in caplog.records)


def test_after_takes_a_function(make_client):
    client = one(make_client, "res.after('not callable')", raise_server_exceptions=False)
    assert client.get("/api/x").status == 500
