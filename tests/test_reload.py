"""R50: hot reload in the running dev server, without a restart.

One `python -m nextapi serve` process for the module; each test owns its own
files. File systems keep mtimes at a coarse tick (a few ms, a second on some),
so every change is followed by an explicit, always-new mtime (`bump`) on the
file and on its folder: the server must see each edit, not win a race.

The same reloader in process (R12), at the end: `App(dev=True)` through the
test client imports on first use, re-imports a changed file, and answers a
broken file or a conflict added while serving with a 500 while the rest work.
"""
from __future__ import annotations

import itertools
import json
import os
import shutil
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nextapi import App
from tests.helpers import write_tree
from tests.servers import Proc, call, dev_server_args, free_port, running

_TICK = itertools.count(1)


def bump(*paths: Path) -> None:
    """Give each path an mtime no earlier check can have seen."""
    for path in paths:
        mtime = time.time_ns() + next(_TICK) * 10_000_000
        os.utime(path, ns=(mtime, mtime))


def write(path: Path, source: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    bump(path, path.parent)


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
    bump(path.parent)


def get(server: Proc, path: str, **kwargs: Any) -> tuple[int, Any]:
    status, _, body = call(server.port, "GET", path, **kwargs)
    return status, json.loads(body) if body else None


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pages = tmp_path_factory.mktemp("reload") / "pages"
    write(pages / "api" / "steady.py", "def get(req, res):\n    return {'steady': True}\n")
    return pages


@pytest.fixture(scope="module")
def dev(pages: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    port = free_port()
    with running(dev_server_args(pages, port), port, tmp_path_factory.mktemp("logs")) as proc:
        yield proc


def test_an_edited_handler_is_reimported(dev: Proc, pages: Path) -> None:
    route = pages / "api" / "edited.py"
    write(route, "def get(req, res):\n    return {'v': 1}\n")
    assert get(dev, "/api/edited") == (200, {"v": 1})
    write(route, "def get(req, res):\n    return {'v': 2}\n")
    assert get(dev, "/api/edited") == (200, {"v": 2})
    write(route, "def handler(req, res):\n    return {'v': 3, 'method': req.method}\n")
    assert get(dev, "/api/edited") == (200, {"v": 3, "method": "GET"})


def test_a_new_file_is_routable_on_the_next_request(dev: Proc, pages: Path) -> None:
    assert get(dev, "/api/added")[0] == 404
    write(pages / "api" / "added.py", "def get(req, res):\n    return {'added': True}\n")
    assert get(dev, "/api/added") == (200, {"added": True})


def test_a_new_folder_with_a_dynamic_route(dev: Proc, pages: Path) -> None:
    assert get(dev, "/api/fresh/42")[0] == 404
    folder = pages / "api" / "fresh"
    folder.mkdir()
    bump(folder.parent)
    write(folder / "[id].py", "def get(req, res):\n    return {'id': req.query['id']}\n")
    assert get(dev, "/api/fresh/42") == (200, {"id": "42"})


def test_a_deleted_file_answers_404(dev: Proc, pages: Path) -> None:
    route = pages / "api" / "doomed.py"
    write(route, "def get(req, res):\n    return {'alive': True}\n")
    assert get(dev, "/api/doomed")[0] == 200
    remove(route)
    assert get(dev, "/api/doomed")[0] == 404
    assert get(dev, "/api/steady") == (200, {"steady": True})


def test_a_renamed_file_moves_its_route(dev: Proc, pages: Path) -> None:
    write(pages / "api" / "before.py", "def get(req, res):\n    return {'name': 'moved'}\n")
    assert get(dev, "/api/before")[0] == 200
    os.rename(pages / "api" / "before.py", pages / "api" / "after.py")
    bump(pages / "api")
    assert get(dev, "/api/before")[0] == 404
    assert get(dev, "/api/after") == (200, {"name": "moved"})


def test_a_syntax_error_is_a_500_naming_file_and_line_and_recovers(dev: Proc, pages: Path) -> None:
    route = pages / "api" / "fragile.py"
    write(route, "def get(req, res):\n    return {'ok': 1}\n")
    assert get(dev, "/api/fragile") == (200, {"ok": 1})

    write(route, "def get(req, res):\n    x = 1\n    return {'ok': \n")  # line 3 never closes
    status, body = get(dev, "/api/fragile")
    assert status == 500
    assert "fragile.py:3" in body["error"] and "SyntaxError" in body["error"]
    assert "SyntaxError" in body["traceback"]  # dev mode: the traceback is in the body
    assert get(dev, "/api/steady") == (200, {"steady": True})  # the other routes keep working
    assert get(dev, "/api/fragile")[0] == 500  # still broken, still saying so

    write(route, "def get(req, res):\n    return {'ok': 2}\n")
    assert get(dev, "/api/fragile") == (200, {"ok": 2})


def test_an_import_error_is_a_500_naming_file_and_line_and_recovers(dev: Proc, pages: Path) -> None:
    route = pages / "api" / "imports.py"
    write(route, "import json\nimport no_such_module_for_nextapi\n\ndef get(req, res):\n    return 1\n")
    status, body = get(dev, "/api/imports")
    assert status == 500
    assert "imports.py:2" in body["error"] and "ModuleNotFoundError" in body["error"]
    write(route, "import json\n\ndef get(req, res):\n    return json.loads('[1]')\n")
    assert get(dev, "/api/imports") == (200, [1])


def test_a_module_without_handlers_is_a_500_until_it_gets_one(dev: Proc, pages: Path) -> None:
    route = pages / "api" / "empty.py"
    write(route, "VALUE = 1\n")
    status, body = get(dev, "/api/empty")
    assert status == 500 and "neither handler" in body["error"]
    write(route, "VALUE = 1\n\ndef get(req, res):\n    return VALUE\n")
    assert get(dev, "/api/empty") == (200, 1)


def test_an_edited_middleware_applies_on_the_next_request(dev: Proc, pages: Path) -> None:
    folder = pages / "api" / "guarded"
    write(folder / "data.py", "def get(req, res):\n    return {'data': True}\n")
    middleware = folder / "_middleware.py"
    write(middleware, "def middleware(req, res, next):\n    res.set_header('X-Guard', 'one')\n    return next()\n")
    assert call(dev.port, "GET", "/api/guarded/data")[1]["X-Guard"] == "one"
    write(middleware, "def middleware(req, res, next):\n    res.set_header('X-Guard', 'two')\n    return next()\n")
    assert call(dev.port, "GET", "/api/guarded/data")[1]["X-Guard"] == "two"
    remove(middleware)
    assert call(dev.port, "GET", "/api/guarded/data")[1]["X-Guard"] is None


def test_unchanged_modules_are_not_reimported_per_request(dev: Proc, pages: Path, tmp_path: Path) -> None:
    """The per-request check is stats, not imports: a module runs once until it changes."""
    log = tmp_path / "imports.log"
    source = f"""
        with open({str(log)!r}, "a") as f:
            f.write("imported\\n")

        def get(req, res):
            return {{"counted": True}}
    """
    write(pages / "api" / "counted.py", source)
    for _ in range(5):
        assert get(dev, "/api/counted")[0] == 200
        assert get(dev, "/api/steady")[0] == 200
    write(pages / "api" / "unrelated.py", "def get(req, res):\n    return 1\n")  # the tree changes
    assert get(dev, "/api/counted")[0] == 200
    assert log.read_text().count("imported") == 1
    write(pages / "api" / "counted.py", source)  # now it changes: one more import
    assert get(dev, "/api/counted")[0] == 200
    assert log.read_text().count("imported") == 2


def test_errors_are_logged_with_the_file_and_the_server_keeps_running(dev: Proc, pages: Path) -> None:
    write(pages / "api" / "logged.py", "def get(req, res):\n    raise RuntimeError('boom')\n")
    status, body = get(dev, "/api/logged")
    assert status == 500 and body["error"] == "Internal Server Error"
    assert "RuntimeError: boom" in body["exception"]
    dev.wait_output("GET /api/logged 500 ")
    assert "RuntimeError: boom" in dev.stderr
    assert dev.proc.poll() is None


# R74: helper modules the handlers imported reload too, with no request refused ----------
def test_an_edited_helper_module_is_picked_up_during_a_burst_of_requests(dev: Proc, pages: Path) -> None:
    project = pages.parent
    write(project / "lib" / "burst_value.py", "VALUE = 'old'\n")
    write(pages / "api" / "burst" / "_local.py", "SUFFIX = '-a'\n")
    write(pages / "api" / "burst" / "value.py", """
        from lib.burst_value import VALUE
        from ._local import SUFFIX

        def get(req, res):
            return {"value": VALUE + SUFFIX}
    """)
    assert get(dev, "/api/burst/value") == (200, {"value": "old-a"})

    import threading
    from http.client import HTTPException
    seen: list[Any] = []
    stop = threading.Event()

    def burst() -> None:
        deadline = time.monotonic() + 20  # bounded in time and count
        while not stop.is_set() and time.monotonic() < deadline and len(seen) < 2000:
            try:
                seen.append(get(dev, "/api/burst/value"))
            except (OSError, HTTPException) as exc:  # a refused or dropped connection fails the test
                seen.append(("error", repr(exc)))

    workers = [threading.Thread(target=burst) for _ in range(4)]
    for w in workers:
        w.start()
    try:
        time.sleep(0.3)
        write(project / "lib" / "burst_value.py", "VALUE = 'new'\n")  # a project module
        time.sleep(0.3)
        write(pages / "api" / "burst" / "_local.py", "SUFFIX = '-b'\n")  # a helper beside the route
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (not seen or seen[-1] != (200, {"value": "new-b"})):
            time.sleep(0.05)
        time.sleep(0.2)
    finally:
        stop.set()
        for w in workers:
            w.join(30)
    assert seen and all(item[0] == 200 for item in seen), [i for i in seen if i[0] != 200][:3]
    values = {item[1]["value"] for item in seen}
    assert values <= {"old-a", "new-a", "new-b"} and "new-b" in values, values
    assert get(dev, "/api/burst/value") == (200, {"value": "new-b"})


def test_an_edited_helper_reloads_in_process_and_module_names_read_well(tmp_path: Path) -> None:
    from nextapi.testing import Client
    pages = write_tree(tmp_path, {
        "api/_db.py": "NAME = 'first'\n",
        "api/who.py": "import logging\nfrom ._db import NAME\n\ndef get(req, res):\n"
                      "    return {'name': NAME, 'logger': logging.getLogger(__name__).name}\n",
    })
    client = Client(App(pages, dev=True))
    assert client.get("/api/who").json() == {"name": "first", "logger": "pages.api.who"}
    write(pages / "api" / "_db.py", "NAME = 'second'\n")
    assert client.get("/api/who").json()["name"] == "second"


# R12, R50 in process: App(dev=True) through the test client, no server --------
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
