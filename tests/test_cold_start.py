"""Cold start (issue 15): `import nextapi` and building an app leave the modules most requests never
use unimported (a regression guard on what is imported, not a timing; bench/coldstart.py times it),
and what was made lazy for it still works: the package's exports (PEP 562), the typed-routes
modules (loaded for a typed handler only), the plain frozen records that replaced dataclasses."""
from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import nextapi
from tests.helpers import ROOT, SEED, write_tree

# Not imported by `import nextapi` plus building the seed sample (issue 15), each with what brings it in.
LAZY = (
    "typing", "contextlib", "warnings",  # typing only for type checkers (TYPE_CHECKING = False)
    "asyncio", "ssl", "socket", "selectors",  # the first async handler (eventloop, middleware, auth)
    "inspect", "ast", "dis", "tokenize",  # a typed handler (signature), the first unseen function (is_async)
    "dataclasses", "copy",  # plain frozen classes for Route, Segment, Target, Limits, RouteConfig
    "logging", "traceback", "linecache", "string", "weakref", "textwrap",  # the first log call, a broken file
    "threading",  # _thread's local and lock; the reloader's RLock in dev mode
    "email", "email.utils", "calendar", "locale", "random", "base64", "struct",  # cookie Expires, public files
    "datetime", "decimal", "uuid", "platform", "fractions",  # res.json of one; config sizes in integers
    "urllib.parse", "ipaddress",  # _http.unquote_to_bytes; quote and trusted proxies on first use
    "http",  # status lines as a literal table
    "importlib", "importlib.util",  # the loader uses the import system's own spec_from_file_location
    "sqlite3",  # nextapi.SQLiteStore (rate_limit)
    "hmac", "hashlib", "_hashlib",  # sessions; a module name for a file outside a pages folder
    "tempfile", "shutil", "bz2", "lzma",  # the first upload (multipart)
    "mimetypes",  # the first public file served (frontend)
    "html",  # the dev error page
    "nextapi.signature", "nextapi.convert", "nextapi.params",  # typed handlers only
    "nextapi.batteries", "nextapi.openapi", "nextapi.docspage",  # used by name, or with docs on
)


def _imported(code: str, *modules: str, args: tuple[str, ...] = ()) -> list[str]:
    """Which of `modules` a fresh interpreter has imported after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {modules!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=60,
                         cwd=ROOT, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def test_import_and_build_leave_the_lazy_modules_unimported():
    already = _imported("pass", *LAZY)  # what this interpreter's own start-up imports (PYTHONWARNINGS, a sitecustomize)
    imported = _imported("import sys, nextapi; nextapi.App(sys.argv[1])", *LAZY, args=(str(SEED),))
    assert [m for m in imported if m not in already] == []


def test_import_nextapi_imports_no_submodule():
    """PEP 562: `import nextapi` is the package alone; a name imports its submodule when first used."""
    subs = ("nextapi.app", "nextapi.request", "nextapi.response", "nextapi.params", "nextapi.batteries.cors")
    assert _imported("import nextapi", *subs) == []
    assert _imported("from nextapi import cors", *subs) == ["nextapi.batteries.cors"]


def test_typed_routes_modules_load_for_a_typed_handler_only(tmp_path: Path):
    build = "import sys, nextapi; nextapi.App(sys.argv[1])"
    typed = ("nextapi.signature", "nextapi.convert", "nextapi.params")
    plain = write_tree(tmp_path / "plain", {"api/a.py": "def get(req, res):\n    return {'ok': True}\n"})
    assert _imported(build, *typed, args=(str(plain),)) == []
    hinted = write_tree(tmp_path / "typed", {"api/a.py": "def get(req, res, n: int = 1):\n    return {'n': n}\n"})
    assert _imported(build, *typed, args=(str(hinted),)) == list(typed)


def test_an_async_handler_still_gets_its_loop(make_client):
    client = make_client({"api/a.py": "import asyncio\n\nasync def get(req, res):\n"
                                      "    await asyncio.sleep(0)\n    return {'ok': True}\n"})
    assert client.get("/api/a").json() == {"ok": True}


# --- the lazy exports (PEP 562) ------------------------------------------------------------------

def test_every_name_in_all_resolves_to_the_object_of_its_module():
    from nextapi import _EXPORTS

    assert sorted(_EXPORTS) == sorted(n for n in nextapi.__all__ if n != "__version__")
    for name in nextapi.__all__:
        value = getattr(nextapi, name)
        assert value is not None
        if name in _EXPORTS:
            module = sys.modules[f"nextapi.{_EXPORTS[name]}"]
            assert value is getattr(module, name), name


def test_from_imports_give_the_real_objects():
    from nextapi import (
        App,
        Cookie,
        Field,
        Header,
        HTTPError,
        Limits,
        MemoryStore,
        Query,
        Request,
        Response,
        SQLiteStore,
        UploadFile,
        api_key,
        basic,
        bearer,
        cors,
        gzip,
        operation,
        rate_limit,
        sessions,
    )
    from nextapi.app import App as app_App
    from nextapi.batteries import auth, compress, ratelimit
    from nextapi.batteries import cors as cors_mod
    from nextapi.batteries import sessions as sessions_mod
    from nextapi.errors import HTTPError as errors_HTTPError
    from nextapi.limits import Limits as limits_Limits
    from nextapi.multipart import UploadFile as multipart_UploadFile
    from nextapi.params import Cookie as p_Cookie
    from nextapi.params import Field as p_Field
    from nextapi.params import Header as p_Header
    from nextapi.params import Query as p_Query
    from nextapi.params import operation as p_operation
    from nextapi.request import Request as request_Request
    from nextapi.response import Response as response_Response

    assert (App, Request, Response, HTTPError, Limits, UploadFile) == (
        app_App, request_Request, response_Response, errors_HTTPError, limits_Limits, multipart_UploadFile)
    assert (Field, Query, Header, Cookie, operation) == (p_Field, p_Query, p_Header, p_Cookie, p_operation)
    assert (cors, sessions, gzip, rate_limit) == (cors_mod.cors, sessions_mod.sessions, compress.gzip,
                                                  ratelimit.rate_limit)
    assert (api_key, basic, bearer, MemoryStore, SQLiteStore) == (
        auth.api_key, auth.basic, auth.bearer, ratelimit.MemoryStore, ratelimit.SQLiteStore)
    assert callable(cors("*")) and Field(ge=1).ge == 1


def test_an_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="module 'nextapi' has no attribute 'nope'"):
        nextapi.nope  # noqa: B018
    assert not hasattr(nextapi, "Nope")
    with pytest.raises(ImportError):
        from nextapi import nope  # noqa: F401


def test_dir_lists_every_export_and_the_version():
    assert set(nextapi.__all__) <= set(dir(nextapi))
    assert nextapi.__version__ == "0.1.0"


# --- the loader: plain functions compiled on demand, typed ones at load (R94) --------------------

def test_a_plain_handler_is_not_typed_and_its_signature_comes_on_first_read(tmp_path: Path):
    from nextapi.loader import load_target

    pages = write_tree(tmp_path, {"api/a.py": 'def get(req, res):\n    """List them.\n\n    All of them."""\n'})
    target = load_target(str(pages / "api" / "a.py"), str(pages))
    assert target.typed == {}
    sig = target.signatures["GET"]  # what OpenAPI reads: the docstring, no inputs
    assert (sig.summary, sig.description, sig.inputs, sig.returns) == ("List them.", "All of them.", (), None)
    assert target.signatures is target.signatures  # compiled once
    with pytest.raises(AttributeError):
        target.allow = "GET"  # type: ignore[misc]


def test_signatures_read_by_many_threads_at_once(tmp_path: Path):
    from concurrent.futures import ThreadPoolExecutor

    from nextapi.loader import load_target

    source = "".join(f"def {m}(req, res):\n    pass\n" for m in ("get", "post", "put", "patch", "delete"))
    pages = write_tree(tmp_path, {"api/a.py": source})
    for _ in range(20):
        target = load_target(str(pages / "api" / "a.py"), str(pages))
        with ThreadPoolExecutor(8) as pool:
            seen = list(pool.map(lambda t: sorted(t.signatures), [target] * 8))
        assert seen == [["DELETE", "GET", "PATCH", "POST", "PUT"]] * 8


@pytest.mark.parametrize("source", [
    "from nextapi import operation\n\n@operation(status=201)\ndef post(req, res):\n    return {'made': True}\n",
    ("import functools\n\ndef deco(fn):\n    @functools.wraps(fn)\n    def inner(*a, **k):\n"
     "        return fn(*a, **k)\n    return inner\n\n@deco\ndef post(req, res, n: int = 7):\n    return {'n': n}\n"),
    "def post(req, res) -> dict:\n    return {'made': True}\n",
    "def post(req, res, *, n=1):\n    return {'n': n}\n",
])
def test_what_is_not_plain_is_compiled_at_load(tmp_path: Path, source: str):
    from nextapi.loader import load_target

    pages = write_tree(tmp_path, {"api/a.py": source})
    target = load_target(str(pages / "api" / "a.py"), str(pages))
    assert list(target.typed) == [target.methods["POST"]]


def test_a_bad_annotation_is_still_a_load_error_at_build(tmp_path: Path):
    pages = write_tree(tmp_path, {"api/a.py": "def get(req, res, n: 'NoSuchType'):\n    return {}\n"})
    with pytest.raises(nextapi.LoadError, match="a.py:1: .*cannot resolve its annotations"):
        nextapi.App(pages)


def test_plain_handlers_still_answer_and_a_typed_one_binds(make_client):
    client = make_client({"api/a.py": "def get(req, res):\n    return {'ok': True}\n",
                          "api/b.py": "def get(req, res, n: int):\n    return {'n': n}\n"})
    assert client.get("/api/a").json() == {"ok": True}
    assert client.get("/api/b?n=3").json() == {"n": 3}
    assert client.get("/api/b?n=x").status_code == 422


# --- Limits and RouteConfig: plain frozen records, as the dataclasses were ------------------------

def test_limits_behave_as_the_frozen_dataclass_did():
    from nextapi.limits import Limits

    a, b = Limits(), Limits(max_fields=5)
    assert a == Limits() and hash(a) == hash(Limits()) and a != b and a != object()
    assert repr(b).startswith("Limits(max_query_length=8192, max_fields=5, max_json_depth=64,")
    assert Limits(8, 9).max_fields == 9  # positional, in the declared order
    with pytest.raises(AttributeError):
        b.max_fields = 6  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(b)) == b and copy.copy(b) == b and copy.deepcopy(b) == b
    with pytest.raises(ValueError, match="Limits.max_cookies must be a positive int"):
        Limits(max_cookies=0)


def test_route_config_defaults_are_the_parsed_default_sizes():
    from nextapi.config import (
        DEFAULT_BODY_LIMIT,
        DEFAULT_CONFIG,
        DEFAULT_RESPONSE_LIMIT,
        RouteConfig,
        parse_config,
        parse_size,
    )

    assert DEFAULT_CONFIG.size_limit == parse_size(DEFAULT_BODY_LIMIT)
    assert DEFAULT_CONFIG.response_limit == parse_size(DEFAULT_RESPONSE_LIMIT)
    assert parse_config({"body_parser": {"size_limit": "1.5mb"}}, "x.py") == RouteConfig(
        size_limit=1572864, size_label="1.5mb")
    assert parse_size("0.9999b") == 0 and parse_size("2.5 KB") == 2560
    with pytest.raises(AttributeError):
        DEFAULT_CONFIG.etag = False  # type: ignore[misc]
