"""parse_query / parse_query_bytes: URLSearchParams semantics (R21)."""
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nextapi.query import parse_query, parse_query_bytes

FFFD = "\ufffd"
# Any code point (lone surrogates too), with the characters that matter made common.
ANY_TEXT = st.text(
    st.one_of(
        st.characters(exclude_categories=()),
        st.sampled_from(list("%&=;+\" \\\t,\xa0\xc3\xa9\xff\ud800")),
    )
)


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
@given(ANY_TEXT)
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
