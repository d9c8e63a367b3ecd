"""R72: `nextapi new DIR [--template api|board]` makes a working project in a new or empty folder.

Each template's project passes `nextapi check`, answers through the test client, and
its own tests pass with `python -m pytest` run inside it (a subprocess each); the api
project is served once by `nextapi dev` started inside it with no DIR. A folder that
holds anything is refused and nothing is written. The templates ship in the wheel:
tests/test_packaging.py runs `nextapi new` from an installed wheel.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nextapi import App
from nextapi.cli import TEMPLATES, main, template_files, templates
from nextapi.testing import Client
from tests.helpers import run_cli
from tests.servers import call, child_env, dev_server_args, free_port, running

API_FILES = {".gitignore", "README.md", "pyproject.toml", "pages/api/hello.py", "pages/api/todos/[id].py",
             "tests/test_api.py"}
BOARD_FILES = {".gitignore", "README.md", "pyproject.toml", "board_db.py", "pages/index.html",
               "pages/api/hello.py", "pages/api/todos/[id].py", "pages/api/comments.py", "pages/api/comments/[id].py",
               "public/board.css", "public/favicon.svg", "tests/test_board.py"}


def listing(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One project per template, made once for the module by `nextapi new`."""
    base = tmp_path_factory.mktemp("new")
    projects = {}
    for name in ("api", "board"):
        assert main(["new", str(base / f"demo-{name}"), "--template", name]) == 0
        projects[name] = base / f"demo-{name}"
    return projects


def test_the_templates_are_api_and_board() -> None:
    assert templates() == ["api", "board"]
    assert set(template_files("api")) == API_FILES
    assert set(template_files("board")) == BOARD_FILES
    # Nothing in the package is importable as a module of nextapi: the .py files are .py.tmpl.
    assert not list(TEMPLATES.rglob("*.py"))
    assert not list(TEMPLATES.rglob("__init__*"))


def test_new_writes_the_api_project(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run_cli(capsys, "new", str(tmp_path / "demo"))
    assert (code, err) == (0, "")
    demo = tmp_path / "demo"
    assert listing(demo) == API_FILES
    readme = (demo / "README.md").read_text()
    assert readme.startswith("# demo\n")
    assert "nextapi dev" in readme and "python -m pytest" in readme
    assert ".env*.local" in (demo / ".gitignore").read_text().splitlines()
    assert "from nextapi.testing import Client" in (demo / "tests" / "test_api.py").read_text()
    for line in ("  pages/api/hello.py", f"  cd {demo}", "  nextapi dev ", "  python -m pytest "):
        assert line in out, out


@pytest.mark.parametrize("name, files", [("api", API_FILES), ("board", BOARD_FILES)])
def test_the_project_checks_clean_and_answers(
    capsys: pytest.CaptureFixture[str], made: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    name: str, files: set[str],
) -> None:
    demo = made[name]
    assert listing(demo) >= files
    code, out, err = run_cli(capsys, "check", str(demo))
    assert (code, err) == (0, "")
    assert out.startswith("ok: ")
    monkeypatch.setenv("BOARD_DB", str(tmp_path / "board.db"))
    client = Client(App(demo / "pages"))
    resp = client.get("/api/hello")
    assert (resp.status, resp.headers["Content-Type"], resp.json()) == (
        200, "application/json; charset=utf-8", {"hello": "world"})
    if name == "board":
        assert client.get("/").headers["Content-Type"] == "text/html; charset=utf-8"
        assert client.get("/board.css").status == 200
        assert client.post("/api/comments", json={"text": "hi"}).status == 201
        assert [c["text"] for c in client.get("/api/comments").json()] == ["hi"]


@pytest.mark.parametrize("name", ["api", "board"])
def test_the_projects_own_tests_pass(made: dict[str, Path], name: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=made[name],
                          env=child_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout and "failed" not in done.stdout
    assert not (made[name] / "board.db").exists()  # the tests never touch the real database


def test_dev_inside_the_project_serves_hello(made: dict[str, Path], tmp_path: Path) -> None:
    port = free_port()
    args = dev_server_args("", port)
    args.remove("")  # no DIR: ./pages of the working directory
    with running(args, port, tmp_path / "logs", cwd=made["api"], env=child_env()) as server:
        status, headers, body = call(port, "GET", "/api/hello")
        assert (status, json.loads(body)) == (200, {"hello": "world"})
        assert headers["Content-Type"] == "application/json; charset=utf-8"
        assert "serving pages " in server.stdout


# -- refused ------------------------------------------------------------------
@pytest.mark.parametrize("existing", ["notes.txt", ".git/HEAD"])
def test_a_folder_that_is_not_empty_is_refused_and_nothing_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, existing: str,
) -> None:
    target = tmp_path / "taken"
    (target / existing).parent.mkdir(parents=True)
    (target / existing).write_text("mine\n")
    for template in ("api", "board"):
        code, out, err = run_cli(capsys, "new", str(target), "--template", template)
        assert (code, out) == (1, "")
        assert err == f"error: {target} is not empty: nextapi new writes only into a new or empty folder\n"
    assert listing(target) == {existing}
    assert (target / existing).read_text() == "mine\n"


def test_an_empty_folder_is_fine_and_dot_is_the_working_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, "new", ".")
    assert code == 0
    assert listing(tmp_path) == API_FILES
    assert "  cd " not in out  # already there
    assert (tmp_path / "README.md").read_text().startswith(f"# {tmp_path.name}\n")


def test_a_file_in_the_way_and_an_unknown_template_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    (tmp_path / "file").write_text("x")
    assert run_cli(capsys, "new", str(tmp_path / "file")) == (1, "", f"error: {tmp_path / 'file'} exists and is not a folder\n")
    code, _, err = run_cli(capsys, "new", str(tmp_path / "x"), "--template", "nope")
    assert code == 2 and "invalid choice: 'nope'" in err
    assert not (tmp_path / "x").exists()
    assert os.listdir(tmp_path) == ["file"]
