"""Route config (R13): a module's `config`, checked when it is loaded, and the sizes it takes
(parse_size, as Next.js's `bytes` package reads them).
"""
from __future__ import annotations

import re

import pytest

from nextapi import App, LoadError
from nextapi.config import parse_size
from tests.helpers import write_tree

KB, MB = 1024, 1024 * 1024


# --- parse_size -------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (0, 0),
        (1024, 1024),
        ("100b", 100),
        ("500kb", 500 * KB),
        ("1mb", MB),
        ("5MB", 5 * MB),
        ("1Mb", MB),
        ("1.5mb", 1536 * KB),
        ("0.5kb", 512),
        ("1.5b", 1),  # floored, like the npm bytes package
        ("1gb", 1024 * MB),
        ("1tb", 1 << 40),
        (" 1 mb ", MB),
        ("1\tkb", KB),
        ("2048", 2048),
        ("007kb", 7 * KB),
    ],
)
def test_parse_size(value, expected):
    assert parse_size(value) == expected


@pytest.mark.parametrize(
    "value",
    [True, False, -1, 1.5, None, [], "", " ", "mb", "1 xb", "1m", "-1mb", "+1mb",
     "1.mb", ".5mb", "1,5mb", "1e3", "\u0661mb", "1mbb", "1 m b", "abc", "1_000"],
)
def test_parse_size_rejects(value):
    with pytest.raises(ValueError, match=re.escape(repr(value))):
        parse_size(value)


# R13 ----------------------------------------------------------------------
@pytest.mark.parametrize("config", [
    "{'nope': 1}",
    "{'body_parser': 'yes'}",
    "{'body_parser': {'size_limit': 'lots'}}",
    "{'response_limit': '4 parsecs'}",
    "[1]",
])
def test_bad_config_is_a_load_error(tmp_path, config):
    pages = write_tree(tmp_path, {"api/c.py": f"config = {config}\ndef get(req, res): pass\n"})
    with pytest.raises(LoadError, match="c.py"):
        App(pages)


@pytest.mark.parametrize("config, hint", [
    ("{'api': {'bodyParser': False}}", "nextapi's config is flat"),
    ("{'bodyParser': {'sizeLimit': '1mb'}}", "bodyParser (the Next.js spelling: use body_parser)"),
    ("{'body_parser': {'sizeLimit': '1mb'}}", "sizeLimit (the Next.js spelling: use size_limit)"),
    ("{'responseLimit': False, 'externalResolver': True}", "externalResolver (the Next.js spelling: use "
                                                          "external_resolver), responseLimit (the Next.js"),
])
def test_nextjs_config_spellings_get_a_hint_to_the_python_ones(tmp_path, config, hint):
    pages = write_tree(tmp_path, {"api/c.py": f"config = {config}\ndef get(req, res): pass\n"})
    with pytest.raises(LoadError) as err:
        App(pages)
    assert "c.py" in str(err.value) and hint in str(err.value)


@pytest.mark.parametrize("limit, size, status", [
    ("'500kb'", 500 * 1024, 200),
    ("'500kb'", 500 * 1024 + 1, 413),
    ("2048", 2048, 200),
    ("2048", 2049, 413),
    ("'5MB'", 5 * 1024 * 1024, 200),
])
def test_size_limits_accept_ints_and_unit_strings(make_client, limit, size, status):
    client = make_client({"api/up.py": f"""
config = {{"body_parser": {{"size_limit": {limit}}}}}
def post(req, res):
    return {{"len": len(req.body)}}
"""})
    resp = client.post("/api/up", body=b"x" * size, headers={"Content-Type": "application/octet-stream"})
    assert resp.status == status
    if status == 413:
        assert resp.json()["error"] == f"Body exceeded {limit.strip(chr(39))} limit"
