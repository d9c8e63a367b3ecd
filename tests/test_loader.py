"""Handler modules, loaded from their files (R10–R12): one style each, a checked `methods`,
a module name of their own, and load errors that name the file and line.

How a loaded module answers requests is in test_app.py, its `config` in test_config.py,
what it returns in test_response.py, and dev mode's re-imports in test_reload.py.
"""
from __future__ import annotations

import pytest

from nextapi import App, LoadError
from tests.helpers import write_tree


# R10 ----------------------------------------------------------------------
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


# R10 (amended): a handler module's `methods`, and the method decided before any body limit
@pytest.mark.parametrize("methods", ["'GET'", "['GET', 'FETCH']", "[]", "[1]", "{'GET': 1}"])
def test_bad_methods_is_a_load_error(tmp_path, methods):
    pages = write_tree(tmp_path, {"api/m.py": f"methods = {methods}\ndef handler(req, res): pass\n"})
    with pytest.raises(LoadError, match="m.py.*methods must be a list"):
        App(pages)


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


# R11 (amended): readable module names, and relative imports inside the pages tree
NAMES = {
    "api/_shared.py": "TOP = 'top'\n",
    "api/comments.py": "from ._shared import TOP\n\ndef get(req, res):\n"
                       "    return {'name': __name__, 'package': __package__, 'top': TOP}\n",
    "api/comments/_db.py": "WHERE = 'comments/_db'\n",
    "api/comments/[id].py": "import logging\nfrom ._db import WHERE\nfrom .. import _shared\n\n"
                            "def get(req, res):\n    return {'name': __name__, 'package': __package__,\n"
                            "            'logger': logging.getLogger(__name__).name, 'where': WHERE, 'top': _shared.TOP}\n",
}


def test_module_names_are_the_dotted_path_and_relative_imports_work(make_client):
    client = make_client(NAMES)
    assert client.get("/api/comments/7").json() == {
        "name": "pages.api.comments.[id]", "package": "pages.api.comments", "logger": "pages.api.comments.[id]",
        "where": "comments/_db", "top": "top"}
    # a route file beside the folder of its name: the folder keeps the package name
    assert client.get("/api/comments").json() == {"name": "pages.api.comments.py", "package": "pages.api",
                                                  "top": "top"}


def test_two_projects_in_one_process_each_import_their_own_helpers(tmp_path):
    from nextapi.testing import Client
    apps = []
    for which in ("a", "b"):
        apps.append(App(write_tree(tmp_path / which, {
            "api/_which.py": f"WHICH = {which!r}\n",
            "api/w.py": "from ._which import WHICH\n\ndef get(req, res):\n    return WHICH\n"})))
    assert [Client(app).get("/api/w").text for app in apps] == ["a", "b"]


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


def test_a_route_file_beside_its_folder_can_import_from_inside_it_and_routes_lists_both(make_client, tmp_path):
    client = make_client({"api/hello/_n.py": "X = 'inside'\n",
                          "api/hello.py": "from .hello._n import X\n\ndef get(req, res):\n    return {'x': X}\n",
                          "api/hello/[name].py": "from ._n import X\n\ndef get(req, res):\n    return {'n': X}\n"})
    assert client.get("/api/hello").json() == {"x": "inside"}
    assert client.get("/api/hello/bob").json() == {"n": "inside"}
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "nextapi", "routes", str(tmp_path / "pages")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "relative import" not in out.stdout, out.stdout + out.stderr
