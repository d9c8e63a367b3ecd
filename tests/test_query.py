"""parse_query / parse_query_bytes: URLSearchParams semantics (R21)."""
import string
from urllib.parse import urlencode

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nextapi.errors import HTTPError
from nextapi.query import parse_query, parse_query_bytes
from tests.helpers import grouped, only_4xx
from tests.strategies import FEW, NASTY_TEXT, PAIRS

FFFD = "\ufffd"


@pytest.mark.parametrize(
    "qs, expected",
    [
        ("", {}),
        # Next.js: a repeated key becomes a list, in order
        ("a=1&b=2&a=3", {"a": ["1", "3"], "b": "2"}),
        ("a=1&a=2&a=3", {"a": ["1", "2", "3"]}),
        ("a=1&a", {"a": ["1", ""]}),
        # pair shapes
        ("a", {"a": ""}),
        ("a=", {"a": ""}),
        ("=x", {"": "x"}),
        ("=", {"": ""}),
        ("a=b=c", {"a": "b=c"}),
        ("a=1&&b=2", {"a": "1", "b": "2"}),
        ("&&", {}),
        ("&a=1&", {"a": "1"}),
        ("a[]=1&a[]=2", {"a[]": ["1", "2"]}),
        ("a[b]=1", {"a[b]": "1"}),
        # only & separates pairs
        ("a=1;b=2", {"a": "1;b=2"}),
        # + is a space, %2B is a plus
        ("a=+b+", {"a": " b "}),
        ("+=+", {" ": " "}),
        ("%2B=%2b", {"+": "+"}),
        ("a%20b=c%26d%3De", {"a b": "c&d=e"}),
        ("%61=1", {"a": "1"}),
        ("a=%00", {"a": "\x00"}),
        ("a=%e2%82%ac", {"a": "€"}),
        # malformed escapes stay as written
        ("a=%ZZ", {"a": "%ZZ"}),
        ("a=%4", {"a": "%4"}),
        ("a=%", {"a": "%"}),
        ("a=100%", {"a": "100%"}),
        ("a=%%41", {"a": "%A"}),
        ("a=%G1%41", {"a": "%G1A"}),
        ("%ZZ=1", {"%ZZ": "1"}),
        # bytes that are not UTF-8 become U+FFFD (escaped or raw latin-1 bytes)
        ("a=%FF", {"a": FFFD}),
        ("a=\xff", {"a": FFFD}),
        ("a=%C3", {"a": FFFD}),
        ("a=%C3%A9%FF", {"a": "é" + FFFD}),
        ("a=%ED%A0%80", {"a": FFFD * 3}),  # an encoded surrogate is not UTF-8
        ("\xff=1", {FFFD: "1"}),
        # raw UTF-8 bytes, as a WSGI server hands them over (latin-1 str)
        ("a=\xc3\xa9", {"a": "é"}),
        ("q=\xe6\x97\xa5\xe6\x9c\xac", {"q": "日本"}),
        ("a=\xc3\xa9+%41", {"a": "é A"}),
        # a BOM is data, not stripped
        ("a=%EF%BB%BFx", {"a": "\ufeffx"}),
        # a str that cannot be latin-1 bytes is taken as text (UTF-8)
        ("a=€", {"a": "€"}),
        ("a=é€&b=日本", {"a": "é€", "b": "日本"}),
        ("a=€&b=%E2%82%AC", {"a": "€", "b": "€"}),
        ("a=\ud800€", {"a": FFFD + "€"}),
    ],
)
def test_parse_query(qs, expected):
    assert parse_query(qs) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"", {}),
        (b"a=1&b=2&a=3", {"a": ["1", "3"], "b": "2"}),
        (b"a+b=c%20d", {"a b": "c d"}),
        (b"a=%FF", {"a": FFFD}),
        (b"a=\xff", {"a": FFFD}),
        (b"a=\xc3\xa9", {"a": "é"}),
        (b"a=%ZZ&&=x&k", {"a": "%ZZ", "": "x", "k": ""}),
    ],
)
def test_parse_query_bytes(raw, expected):
    assert parse_query_bytes(raw) == expected


@pytest.mark.parametrize(
    "qs",
    ["a=1&b=2&a=3", "a+b=%41%ZZ", "x=\xc3\xa9&y=\xff", "a;b=c&&d", "=&=&a"],
)
def test_form_bytes_and_query_string_agree(qs):
    # A form body and the same text as a query string give the same dict.
    assert parse_query_bytes(qs.encode("latin-1")) == parse_query(qs)


def test_values_are_fresh_lists_per_call():
    first = parse_query("a=1&a=2")
    first["a"].append("x")
    assert parse_query("a=1&a=2") == {"a": ["1", "2"]}


@settings(max_examples=200, deadline=None)
@given(NASTY_TEXT)
def test_any_text_never_raises(qs):
    result = parse_query(qs)
    for key, value in result.items():
        assert isinstance(key, str)
        assert isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        )


@settings(max_examples=200, deadline=None)
@given(st.binary())
def test_any_latin1_bytes_never_raise(raw):
    assert parse_query(raw.decode("latin-1")) == parse_query_bytes(raw)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(), st.text()))
def test_urlencode_round_trip(pairs):
    assert parse_query(urlencode(list(pairs.items()))) == pairs


# --- properties (Hypothesis, issue 5); their strategies are in tests/strategies.py ---------------


def no_surrogates(pairs: list[tuple[str, str]]) -> bool:
    return all(not ("\ud800" <= c <= "\udfff") for kv in pairs for s in kv for c in s)


@FEW
@given(NASTY_TEXT, st.integers(1, 50))
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
