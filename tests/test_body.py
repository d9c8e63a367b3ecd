"""read_body and parse_body (R23, R24); parse_size, R13's sizes, is in test_config.py."""
import io
import json
from typing import Any
from wsgiref.validate import InputWrapper

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nextapi.body import CHUNK, check_length, parse_body, read_body
from nextapi.errors import HTTPError
from nextapi.query import parse_query
from tests.helpers import only_4xx
from tests.strategies import CONTENT_TYPES, FEW, JSON_VALUES, NASTY_BYTES

KB, MB = 1024, 1024 * 1024


# --- read_body ---------------------------------------------------------------


class CountingStream:
    """A wsgi.input that serves `data` (or endless bytes) and counts what it gave."""

    def __init__(self, data: bytes | None = None, *, ignore_size: bool = False):
        self.data = data
        self.pos = 0
        self.given = 0
        self.sizes: list[int] = []
        self.ignore_size = ignore_size

    def read(self, size):
        self.sizes.append(size)
        if self.ignore_size:
            size = MB
        if self.data is None:
            chunk = b"x" * size  # never ends
        else:
            chunk = self.data[self.pos : self.pos + size]
            self.pos += len(chunk)
        self.given += len(chunk)
        return chunk

    def readline(self, *args):  # pragma: no cover - InputWrapper API only
        raise AssertionError("not used")

    readlines = readline

    def __iter__(self):  # pragma: no cover
        raise AssertionError("not used")


def environ(stream, content_length=None, terminated=None):
    env = {"wsgi.input": InputWrapper(stream)}  # asserts read() gets exactly one argument
    if content_length is not None:
        env["CONTENT_LENGTH"] = content_length
    if terminated is not None:
        env["wsgi.input_terminated"] = terminated
    return env


@pytest.mark.parametrize(
    "data, content_length, terminated, expected",
    [
        (b"hello", "5", None, b"hello"),
        (b"hello world", "5", None, b"hello"),  # stops at Content-Length
        (b"", "0", None, b""),
        (b"hello", "0", None, b""),
        (b"hello", "005", None, b"hello"),
        (b"hello", "", None, None),  # empty CONTENT_LENGTH: not given
        (b"hello", None, None, None),  # no length, not terminated: no body
        (b"hello", None, False, None),
        (b"hello", None, True, b"hello"),  # chunked
        (b"", None, True, None),  # chunked but empty
        (b"hello", "", True, b"hello"),
        (b"hello world", "5", True, b"hello"),  # a given length still wins
        (b"x" * 100, None, True, b"x" * 100),  # exactly the limit
        (b"x" * 100, "100", None, b"x" * 100),
    ],
)
def test_read_body(data, content_length, terminated, expected):
    stream = io.BytesIO(data)
    assert read_body(environ(stream, content_length, terminated), 100, "100b") == expected


@pytest.mark.parametrize("data, length", [(b"hi", "10"), (b"", "1"), (b"x" * 70000, "70001")])
def test_read_body_that_ends_before_its_content_length_is_400_incomplete(data, length):
    """R24: a body shorter than its Content-Length is never handed over as if whole."""
    with pytest.raises(HTTPError) as exc:
        read_body(environ(io.BytesIO(data), length), 1 << 20, "1mb")
    assert (exc.value.status, exc.value.message) == (400, "Invalid body: incomplete")


def test_read_body_of_unterminated_chunked_input_is_411():
    """R24: uWSGI passes chunked input with no CONTENT_LENGTH and no wsgi.input_terminated."""
    env = environ(io.BytesIO(b"hello"), None)
    env["HTTP_TRANSFER_ENCODING"] = "chunked"
    with pytest.raises(HTTPError) as exc:
        read_body(env, 100, "100b")
    assert (exc.value.status, exc.value.message) == (411, "Length Required")
    env["wsgi.input_terminated"] = True  # a server that de-chunked it: read as usual
    assert read_body(env, 100, "100b") == b"hello"


def test_json_numbers_in_range_still_parse():
    assert parse_body(b"[1e308, -1e-400, 1.5]", "application/json") == [1e308, -0.0, 1.5]


def test_read_body_stops_at_content_length():
    stream = CountingStream(b"hello world")
    assert read_body(environ(stream, "5"), 100, "100b") == b"hello"
    assert stream.given == 5


def test_read_body_large_body_in_bounded_chunks():
    data = bytes(range(256)) * 1000  # 256000 bytes, several chunks
    stream = CountingStream(data)
    assert read_body(environ(stream, str(len(data))), MB, "1mb") == data
    assert max(stream.sizes) <= CHUNK == 64 * KB
    assert stream.given == len(data)


def test_read_body_chunked_large_body():
    data = b"y" * (3 * CHUNK + 17)
    stream = CountingStream(data)
    assert read_body(environ(stream, terminated=True), MB, "1mb") == data
    assert max(stream.sizes) <= CHUNK


def test_read_body_without_wsgi_input():
    assert read_body({"wsgi.input_terminated": True}, 100, "100b") is None
    assert read_body({}, 100, "100b") is None


@pytest.mark.parametrize(
    "content_length",
    ["+1", "1_0", "-1", "abc", " 1", "1 ", "1.0", "0x10", "\u0661", "\u00b2", "1,1", "5, 5", " "],
)
def test_read_body_rejects_bad_content_length(content_length):
    stream = CountingStream(b"x" * 50)
    with pytest.raises(HTTPError) as exc:
        read_body(environ(stream, content_length), 100, "100b")
    assert (exc.value.status, exc.value.message) == (400, "Invalid Content-Length")
    assert stream.given == 0


@pytest.mark.parametrize("content_length", ["101", "1000000", "9" * 5000, "0" * 5000 + "101"])
def test_content_length_over_limit_reads_nothing(content_length):
    stream = CountingStream()  # would give bytes forever
    with pytest.raises(HTTPError) as exc:
        read_body(environ(stream, content_length), 100, "100b")
    assert (exc.value.status, exc.value.message) == (413, "Body exceeded 100b limit")
    assert stream.sizes == [] and stream.given == 0


def test_content_length_leading_zeros_within_limit():
    stream = CountingStream(b"abc")
    assert read_body(environ(stream, "0" * 5000 + "3"), 100, "100b") == b"abc"


@pytest.mark.parametrize(
    "env, expected",
    [({}, None), ({"CONTENT_LENGTH": ""}, None), ({"CONTENT_LENGTH": "0"}, 0),
     ({"CONTENT_LENGTH": "100"}, 100), ({"CONTENT_LENGTH": "042"}, 42)],
)
def test_check_length(env, expected):
    assert check_length(env, 100, "100b") == expected


@pytest.mark.parametrize(
    "content_length, status", [("101", 413), ("9" * 5000, 413), ("-1", 400), ("1e3", 400)]
)
def test_check_length_errors_read_nothing(content_length, status):
    stream = CountingStream()
    with pytest.raises(HTTPError) as exc:
        check_length(environ(stream, content_length), 100, "100b")
    assert exc.value.status == status
    assert stream.given == 0


def test_413_message_uses_the_label():
    with pytest.raises(HTTPError) as exc:
        read_body(environ(CountingStream(), str(2 * MB)), MB, "1mb")
    assert exc.value.message == "Body exceeded 1mb limit"


@pytest.mark.parametrize("limit", [0, 1, 100, CHUNK - 1, CHUNK, CHUNK + 1, MB])
def test_chunked_over_limit_stops_reading(limit):
    stream = CountingStream()  # endless: far more than any limit
    with pytest.raises(HTTPError) as exc:
        read_body(environ(stream, terminated=True), limit, "the")
    assert (exc.value.status, exc.value.message) == (413, "Body exceeded the limit")
    assert stream.given == limit + 1  # one byte past the limit, no more


def test_chunked_one_byte_over_limit():
    stream = CountingStream(b"x" * 101)
    with pytest.raises(HTTPError) as exc:
        read_body(environ(stream, terminated=True), 100, "100b")
    assert exc.value.status == 413


def test_chunked_stream_ignoring_size_is_still_bounded():
    stream = CountingStream(ignore_size=True)  # returns 1 MiB whatever is asked
    with pytest.raises(HTTPError):
        read_body({"wsgi.input": stream, "wsgi.input_terminated": True}, 100, "100b")
    assert len(stream.sizes) == 1


def test_content_length_stream_returning_too_much_is_cut():
    stream = CountingStream(ignore_size=True)
    assert read_body({"wsgi.input": stream, "CONTENT_LENGTH": "10"}, 100, "100b") == b"x" * 10


# --- parse_body --------------------------------------------------------------


def _400(message):
    return pytest.raises(HTTPError, match=f"^{message}$")


@pytest.mark.parametrize(
    "content_type",
    [None, "", "application/json", "text/plain", "application/x-www-form-urlencoded",
     "multipart/form-data; boundary=x", "application/octet-stream"],
)
def test_no_body_is_none(content_type):
    assert parse_body(None, content_type) is None


@pytest.mark.parametrize(
    "raw, content_type, expected",
    [
        (b'{"a": 1}', "application/json", {"a": 1}),
        (b'{"a": 1}', "application/json; charset=utf-8", {"a": 1}),
        (b'{"a": 1}', "Application/JSON ; Charset=UTF-8", {"a": 1}),
        (b'{"a": 1}', "application/ld+json", {"a": 1}),
        (b'{"a": 1}', "application/vnd.api+json", {"a": 1}),
        (b'{"a": 1}', "application/problem+json", {"a": 1}),
        (b"[1, 2.5, null]", "application/json", [1, 2.5, None]),
        (b'"s"', "application/json", "s"),
        (b"null", "application/json", None),
        (b"true", "application/json", True),
        (b'{"a": "\xc3\xa9"}', "application/json", {"a": "é"}),
        (b'{"a": "\\u00e9"}', "application/json", {"a": "é"}),
        (b"", "application/json", {}),
        (b"\xef\xbb\xbf{}", "application/json", {}),  # a BOM is allowed (RFC 8259)
        (b"\xef\xbb\xbf", "application/json", {}),  # a BOM alone is no bytes at all
        (b" \t\r\n[1] \n", "application/json", [1]),  # JSON whitespace around the value
        (b"{}", "application/json;charset=utf-8", {}),
        (b"[" * 64 + b"]" * 64, "application/json", eval("[" * 64 + "]" * 64)),
        (b'["' + b"[" * 1000 + b'"]', "application/json", ["[" * 1000]),
        (b'["\\"' + b"[" * 100 + b'"]', "application/json", ['"' + "[" * 100]),
        (b'{"k\\\\": "' + b"{" * 100 + b'"}', "application/json", {"k\\": "{" * 100}),
    ],
)
def test_parse_json(raw, content_type, expected):
    assert parse_body(raw, content_type) == expected


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"{'a': 1}",
        b"[1,]",
        b"{}x",
        b"\xff",
        b'"\xc3"',
        b"NaN",
        b"[Infinity]",
        b"-Infinity",
        b"\x0c",  # not JSON whitespace
        b"\x0c{}",
        b"{}\x0b",
        b"\xc2\xa0{}",  # a no-break space is not JSON whitespace either
        b"\xef\xbb\xbf\xef\xbb\xbf{}",  # one BOM only
        b"{} {}",
        b" \t\r\n",  # R24: only whitespace is malformed, as JSON.parse has it (an empty body is {})
        b" ",
        b"1e400",  # R24: outside the float range; JSON.parse's Infinity cannot be sent back
        b'{"a": [-1e400]}',
        b"[" * 65 + b"]" * 65,  # deeper than 64: refused before parsing
        b'{"a":' * 65 + b"1" + b"}" * 65,
        b"[" * 100_000,
        b'["\\\\", ' + b"[" * 70 + b"]" * 70 + b"]",  # escaped backslash ends no string
        b"1" * 5000,  # huge integer literal
    ],
)
def test_parse_json_invalid(raw):
    with pytest.raises(HTTPError) as exc:
        parse_body(raw, "application/json")
    assert (exc.value.status, exc.value.message) == (400, "Invalid JSON")


@pytest.mark.parametrize(
    "raw, content_type",
    [
        (b"a=1&b=2&a=3", "application/x-www-form-urlencoded"),
        (b"a=1&b=2&a=3", "application/x-www-form-urlencoded; charset=UTF-8"),
        (b"a+b=c%20d&e&=f&&g=%ZZ", "Application/X-WWW-Form-Urlencoded"),
        (b"a=%FF&b=\xc3\xa9", "application/x-www-form-urlencoded"),
        (b"", "application/x-www-form-urlencoded"),
    ],
)
def test_parse_form_is_shaped_like_query(raw, content_type):
    assert parse_body(raw, content_type) == parse_query(raw.decode("latin-1"))


def test_parse_form_example():
    assert parse_body(b"a=1&b=2&a=3", "application/x-www-form-urlencoded") == {
        "a": ["1", "3"],
        "b": "2",
    }


@pytest.mark.parametrize(
    "raw, content_type, expected",
    [
        (b"hello", "text/plain", "hello"),
        (b"<p>\xc3\xa9</p>", "text/html; charset=utf-8", "<p>é</p>"),
        (b"caf\xe9", "text/plain; charset=latin-1", "café"),
        (b"caf\xe9", 'text/plain; charset="ISO-8859-1"', "café"),
        (b"caf\xc3\xa9", "TEXT/PLAIN; CHARSET=UTF-8", "café"),
        (b"a,b", "text/csv; header=present; charset=utf-8", "a,b"),
        (b"\xff\xfea\x00", "text/plain; charset=utf-16", "a"),
        (b"", "text/plain", ""),
        (b"hi", None, "hi"),
        (b"hi", "", "hi"),
        (b"\xc3\xa9", None, "é"),
        (b"", None, None),
        (b"", "", None),
    ],
)
def test_parse_text(raw, content_type, expected):
    assert parse_body(raw, content_type) == expected


@pytest.mark.parametrize(
    "raw, content_type",
    [
        (b"\xff", "text/plain"),
        (b"\xc3", "text/plain; charset=utf-8"),
        (b"x", "text/plain; charset=nope"),
        (b"x", "text/plain; charset=base64"),
        (b"x", "text/plain; charset=rot13"),
        (b"x", "text/plain; charset=utf-8\x00"),
        (b"x", "text/plain; charset=" + "u" * 1000),
        (b"\xff", None),
        (b"\xff", ""),
    ],
)
def test_parse_text_invalid(raw, content_type):
    with pytest.raises(HTTPError) as exc:
        parse_body(raw, content_type)
    assert (exc.value.status, exc.value.message) == (400, "Invalid body")


@pytest.mark.parametrize(
    "raw, content_type",
    [
        (b"\x00\x01\xff", "application/octet-stream"),
        (b"--x\r\n\r\n--x--", "multipart/form-data; boundary=x"),
        (b"\x89PNG", "image/png"),
        (b"{}", "json"),  # not a media type
        (b"{}", "application/json-patch"),
        (b"", "application/octet-stream"),
    ],
)
def test_parse_other_is_bytes(raw, content_type):
    assert parse_body(raw, content_type) == raw


@settings(max_examples=200, deadline=None)
@given(st.binary(), CONTENT_TYPES)
def test_parse_body_raises_only_400(raw, content_type):
    try:
        parse_body(raw, content_type)
    except HTTPError as exc:
        assert exc.status == 400


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet='[]{}"\\ ,:1a'))
def test_parse_json_like_text_raises_only_400(text):
    try:
        parse_body(text.encode(), "application/json")
    except HTTPError as exc:
        assert (exc.status, exc.message) == (400, "Invalid JSON")


# --- properties (Hypothesis, issue 5); their strategies are in tests/strategies.py ---------------


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
