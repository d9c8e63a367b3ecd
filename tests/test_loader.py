"""Handler modules (R10–R14): styles, loading, config, return values."""
from __future__ import annotations

import pytest

from nextapi import App, BuildError, LoadError
from tests.helpers import write_tree

METHOD_FUNCS = """
def get(req, res):
    res.json({"method": req.method})

def post(req, res):
    res.status(201).json({"created": req.body})
"""


# R10 ----------------------------------------------------------------------
def test_handler_gets_every_method(make_client):
    client = make_client({"api/any.py": "def handler(req, res):\n    res.send(req.method)\n"})
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        resp = client.request(method, "/api/any")
        assert (resp.status, resp.text) == (200, method)


def test_method_functions_dispatch_by_method(make_client):
    client = make_client({"api/items.py": METHOD_FUNCS})
    assert client.get("/api/items").json() == {"method": "GET"}
    resp = client.post("/api/items", json={"a": 1})
    assert (resp.status, resp.json()) == (201, {"created": {"a": 1}})


def test_undefined_method_is_405_with_allow(make_client):
    client = make_client({"api/items.py": METHOD_FUNCS})
    resp = client.delete("/api/items")
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    assert resp.json() == {"error": "Method Not Allowed"}
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert client.request("TRACE", "/api/items").status == 405


def test_head_falls_back_to_get_without_a_body(make_client):
    client = make_client({"api/items.py": "def get(req, res):\n    res.json({'items': [1, 2, 3]})\n"})
    get = client.get("/api/items")
    head = client.head("/api/items")
    assert head.status == 200
    assert head.content == b""
    assert head.headers["Content-Length"] == get.headers["Content-Length"]
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Content-Type"] == "application/json; charset=utf-8"


def test_head_on_a_handler_module_runs_it_and_drops_the_body(make_client):
    client = make_client({"api/h.py": "def handler(req, res):\n    res.send('x' * 10)\n"})
    resp = client.head("/api/h")
    assert (resp.status, resp.content, resp.headers["Content-Length"]) == (200, b"", "10")


def test_options_answers_204_with_allow(make_client):
    client = make_client({"api/items.py": METHOD_FUNCS})
    resp = client.options("/api/items")
    assert resp.status == 204
    assert resp.headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    assert resp.content == b""
    assert "Content-Type" not in resp.headers


def test_own_options_and_head_functions_are_used(make_client):
    client = make_client({"api/c.py": """
def get(req, res):
    res.send("get")

def head(req, res):
    res.set_header("X-Head", "1").end()

def options(req, res):
    res.set_header("Access-Control-Allow-Origin", "*").status(200).send("opts")
"""})
    assert client.head("/api/c").headers["X-Head"] == "1"
    resp = client.options("/api/c")
    assert (resp.status, resp.text, resp.headers["Access-Control-Allow-Origin"]) == (200, "opts", "*")


@pytest.mark.parametrize("source, message", [
    ("def handler(req, res): pass\ndef get(req, res): pass\n", "both"),
    ("X = 1\n", "neither"),
    ("handler = 3\n", "not a function"),
])
def test_both_or_neither_style_is_a_load_error_naming_the_file(tmp_path, source, message):
    pages = write_tree(tmp_path, {"api/bad.py": source})
    with pytest.raises(LoadError, match=message) as err:
        App(pages)
    assert "bad.py" in str(err.value)


# R11 ----------------------------------------------------------------------
def test_two_index_files_never_collide(make_client):
    client = make_client({
        "api/a/index.py": "NAME = 'a'\ndef handler(req, res):\n    return NAME\n",
        "api/b/index.py": "NAME = 'b'\ndef handler(req, res):\n    return NAME\n",
    })
    assert client.get("/api/a").text == "a"
    assert client.get("/api/b").text == "b"


def test_handlers_can_import_from_the_project_folder(make_client, tmp_path):
    (tmp_path / "projlib_r11").mkdir()
    (tmp_path / "projlib_r11" / "__init__.py").write_text("")
    (tmp_path / "projlib_r11" / "db.py").write_text("def rows():\n    return [1, 2]\n")
    client = make_client({"api/rows.py": "import projlib_r11.db\n\ndef get(req, res):\n    return projlib_r11.db.rows()\n"})
    assert client.get("/api/rows").json() == [1, 2]


# R12 ----------------------------------------------------------------------
def test_syntax_error_fails_the_build_with_file_and_line(tmp_path):
    pages = write_tree(tmp_path, {"api/ok.py": "def get(req, res): pass\n",
                                  "api/broken.py": "def get(req, res):\n    return (\n"})
    with pytest.raises(LoadError) as err:
        App(pages)
    assert "broken.py:2" in str(err.value) or "broken.py:3" in str(err.value)
    assert err.value.file.endswith("broken.py")


def test_exception_at_import_names_file_and_line(tmp_path):
    pages = write_tree(tmp_path, {"api/boom.py": "import os\n\nraise RuntimeError('no db')\n"})
    with pytest.raises(LoadError) as err:
        App(pages)
    assert "boom.py:3" in str(err.value)
    assert "RuntimeError: no db" in str(err.value)


def test_outside_dev_mode_everything_is_imported_at_build(tmp_path):
    marker = tmp_path / "imported.txt"
    pages = write_tree(tmp_path, {"api/x.py": f"open({str(marker)!r}, 'w').close()\ndef get(req, res): pass\n"})
    App(pages)
    assert marker.exists()


def test_dev_mode_imports_on_first_use_and_reimports_changed_files(tmp_path):
    import os
    import time

    from nextapi.testing import Client
    marker = tmp_path / "imported.txt"
    pages = write_tree(tmp_path, {"api/x.py": f"open({str(marker)!r}, 'w').close()\ndef get(req, res):\n    return 'v1'\n"})
    client = Client(App(pages, dev=True))
    assert not marker.exists()
    assert client.get("/api/x").text == "v1"
    assert marker.exists()
    path = pages / "api" / "x.py"
    path.write_text("def get(req, res):\n    return 'v2'\n")
    later = time.time() + 5
    os.utime(path, (later, later))
    assert client.get("/api/x").text == "v2"


def test_dev_mode_broken_file_is_500_naming_file_and_line_while_others_work(tmp_path):
    from nextapi.testing import Client
    pages = write_tree(tmp_path, {"api/ok.py": "def get(req, res):\n    return 'ok'\n",
                                  "api/broken.py": "def get(req, res):\n    return (\n"})
    client = Client(App(pages, dev=True))
    resp = client.get("/api/broken")
    assert resp.status == 500
    assert "broken.py:" in resp.json()["error"]
    assert "SyntaxError" in resp.json()["error"]
    assert client.get("/api/ok").text == "ok"


# R10 (amended): a handler module's `methods`, and the method decided before any body limit
LIMITED = "methods = ['GET', 'post']\ndef handler(req, res):\n    return {'m': req.method}\n"


def test_handler_module_methods_limit_what_it_answers(make_client):
    client = make_client({"api/l.py": LIMITED})
    assert client.get("/api/l").json() == {"m": "GET"}
    assert client.post("/api/l").json() == {"m": "POST"}
    head = client.head("/api/l")  # HEAD comes with GET
    assert (head.status, head.content) == (200, b"")
    for method in ("PUT", "PATCH", "DELETE"):
        resp = client.request(method, "/api/l")
        assert (resp.status, resp.json(), resp.headers["Allow"]) == (
            405, {"error": "Method Not Allowed"}, "GET, HEAD, OPTIONS, POST")
    opt = client.options("/api/l")  # not listed: answered for it
    assert (opt.status, opt.headers["Allow"], opt.content) == (204, "GET, HEAD, OPTIONS, POST", b"")


def test_listed_options_reaches_the_handler(make_client):
    client = make_client({"api/o.py": "methods = ['OPTIONS', 'PUT']\ndef handler(req, res):\n"
                                      "    return {'m': req.method}\n"})
    assert client.options("/api/o").json() == {"m": "OPTIONS"}
    assert client.get("/api/o").headers["Allow"] == "OPTIONS, PUT"


@pytest.mark.parametrize("methods", ["'GET'", "['GET', 'FETCH']", "[]", "[1]", "{'GET': 1}"])
def test_bad_methods_is_a_load_error(tmp_path, methods):
    pages = write_tree(tmp_path, {"api/m.py": f"methods = {methods}\ndef handler(req, res): pass\n"})
    with pytest.raises(LoadError, match="m.py.*methods must be a list"):
        App(pages)


@pytest.mark.parametrize("files, path", [
    ({"api/g.py": "def get(req, res):\n    return 1\n"}, "/api/g"),
    ({"api/l.py": LIMITED}, "/api/l"),
])
def test_a_2mb_put_to_a_route_without_put_is_405_not_413(make_client, files, path):
    resp = make_client(files).put(path, body=b"x" * (2 << 20), headers={"content-type": "application/json"})
    assert resp.status == 405 and "PUT" not in resp.headers["Allow"]


def test_unterminated_chunked_input_is_411_before_the_handler(make_client):
    client = make_client({"api/c.py": "def post(req, res):\n    raise AssertionError('ran')\n"})
    resp = client.post("/api/c", body=b"{}", headers={"transfer-encoding": "chunked"},
                       environ={"CONTENT_LENGTH": ""})
    assert (resp.status, resp.json()) == (411, {"error": "Length Required"})


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


# R14 ----------------------------------------------------------------------
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


def test_returned_value_after_sending_is_ignored(make_client):
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


def test_dev_conflict_added_while_serving_is_a_500_naming_both_files(tmp_path):
    from nextapi.testing import Client
    pages = write_tree(tmp_path, {"api/[id].py": "def get(req, res):\n    return req.query\n"})
    client = Client(App(pages, dev=True))
    assert client.get("/api/1").json() == {"id": "1"}
    (pages / "api" / "[slug].py").write_text("def get(req, res):\n    return 'x'\n")
    resp = client.get("/api/1")
    assert resp.status == 500
    assert "[id].py" in resp.json()["error"] and "[slug].py" in resp.json()["error"]
    (pages / "api" / "[slug].py").unlink()
    assert client.get("/api/1").json() == {"id": "1"}
