"""R107: instrumentation.py in the project folder (register once per process, on_request_error)."""
from __future__ import annotations

import pytest

from nextapi import App, LoadError
from nextapi.testing import Client
from tests.helpers import write_tree

INSTRUMENTATION = """
import json, os

LOG = os.path.join(os.path.dirname(__file__), "events.jsonl")

def _note(**event):
    with open(LOG, "a") as f:
        f.write(json.dumps(event) + "\\n")

def register():
    _note(kind="register")

def on_request_error(error, req, context):
    _note(kind="error", error=repr(error), path=req.path, **context)
"""

ROUTES = {
    "api/boom/[id].py": "def get(req, res):\n    raise KeyError(req.query['id'])\n",
    "api/ok.py": "from nextapi import HTTPError\n\ndef get(req, res):\n"
                 "    if req.query.get('e'):\n        raise HTTPError(418)\n    return {'ok': True}\n",
}


def events(project):
    import json
    log = project / "events.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_register_runs_once_per_process_and_errors_are_reported(tmp_path):
    pages = write_tree(tmp_path, ROUTES)
    (tmp_path / "instrumentation.py").write_text(INSTRUMENTATION)
    app = App(pages)
    App(pages)  # a second App of the same project: no second register()
    assert [e["kind"] for e in events(tmp_path)] == ["register"]

    client = Client(app, raise_server_exceptions=False)
    assert client.get("/api/boom/7").status == 500
    assert client.get("/api/ok").status == 200
    assert client.get("/api/ok?e=1").status == 418  # an HTTPError is an answer, not an unexpected error
    errors = [e for e in events(tmp_path) if e["kind"] == "error"]
    assert errors == [{"kind": "error", "error": "KeyError('7')", "path": "/api/boom/7", "route": "/api/boom/[id]",
                       "method": "GET", "file": str(pages / "api" / "boom" / "[id].py")}]


def test_a_failing_on_request_error_is_logged_and_the_500_still_goes_out(tmp_path, caplog):
    pages = write_tree(tmp_path, ROUTES)
    (tmp_path / "instrumentation.py").write_text("def on_request_error(error, req, context):\n    1 / 0\n")
    client = Client(App(pages), raise_server_exceptions=False)
    resp = client.get("/api/boom/1")
    assert (resp.status, resp.json()) == (500, {"error": "Internal Server Error"})
    assert any("on_request_error failed" in r.getMessage() for r in caplog.records)


def test_async_hooks_are_awaited(tmp_path):
    pages = write_tree(tmp_path, ROUTES)
    (tmp_path / "instrumentation.py").write_text(
        INSTRUMENTATION.replace("def register", "async def register").replace("def on_request_error",
                                                                              "async def on_request_error"))
    client = Client(App(pages), raise_server_exceptions=False)
    client.get("/api/boom/2")
    assert [e["kind"] for e in events(tmp_path)] == ["register", "error"]


def test_both_functions_are_optional_and_a_broken_file_names_file_and_line(tmp_path):
    pages = write_tree(tmp_path, ROUTES)
    (tmp_path / "instrumentation.py").write_text("X = 1\n")
    assert Client(App(pages)).get("/api/ok").status == 200
    other = tmp_path / "other"
    pages2 = write_tree(other, ROUTES)
    (other / "instrumentation.py").write_text("def register():\n    pass\n\nraise RuntimeError('broken')\n")
    with pytest.raises(LoadError, match=r"instrumentation.py:4"):
        App(pages2)
