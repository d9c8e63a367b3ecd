"""Hypothesis strategies and settings for the property tests, each defined once here.

The properties themselves live in the test file of the module they exercise
(test_cookies, test_query, test_body, test_multipart, test_routing, test_app).
Two kinds, for each parser and the router (issue 5): arbitrary input never
raises anything but the framework's own 4xx HTTPError, and what a well-behaved
client encodes parses back to what it meant. Example counts are bounded so
each property runs in about a second.
"""
from __future__ import annotations

import string

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FEW = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SOME = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.function_scoped_fixture])

# --- text and bytes -----------------------------------------------------------------------

# Any code point (lone surrogates too), with the characters parsers trip on made common.
TRICKY = list('%&=;+"\\ \t\r\n,\x00\xa0\xc3\xa9\xff\ud800[]{}-')
NASTY_TEXT = st.text(st.one_of(st.characters(exclude_categories=()), st.sampled_from(TRICKY)))
NASTY_BYTES = st.one_of(st.binary(), NASTY_TEXT.map(lambda s: s.encode("utf-8", "surrogatepass")))
LATIN1 = st.text(st.characters(max_codepoint=255), max_size=40)  # what a WSGI server can hand over

# --- cookies and query strings --------------------------------------------------------------

TOKEN = st.text(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~", min_size=1, max_size=12)
PAIRS = st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=10)

# --- bodies -----------------------------------------------------------------------------------

CONTENT_TYPES = st.one_of(
    st.sampled_from([None, "", "application/json", "application/ld+json", "application/x+json",
                     "application/x-www-form-urlencoded", "text/plain", "text/plain; charset=latin-1",
                     "text/html; charset=utf-16", "text/plain; charset=nope", "multipart/form-data; boundary=x",
                     "application/octet-stream", "image/png"]),
    st.text(),
    NASTY_TEXT.map(lambda s: "text/" + s),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)

# --- multipart ----------------------------------------------------------------------------

BCHARS = string.ascii_letters + string.digits + "'()+_,-./:=?"
BOUNDARY = st.text(BCHARS, min_size=8, max_size=70)
NAME = st.text(st.characters(exclude_characters='"\r\n\\', exclude_categories=("Cs",)), min_size=1, max_size=10)
FIELDS = st.lists(st.tuples(NAME, st.text(st.characters(exclude_categories=("Cs",)), max_size=30)), max_size=5)
FILES = st.lists(st.tuples(NAME, NAME, st.binary(max_size=300)), max_size=4)

# --- paths --------------------------------------------------------------------------------

# Path segments: the names of test_routing's synthetic route table made common, and any text.
SEGMENT = st.one_of(st.sampled_from(["api", "users", "me", "posts", "settings", "docs", "shop", "a", "b", "c",
                                     "", "1", "..", "x.py"]), st.text(max_size=6))
