"""R50, R51: `python -m nextapi` commands, their output and their exit codes.

Most run `nextapi.cli.main` in this process (fast, tests.helpers.run_cli); the entry point itself is
run once as `python -m nextapi`. Serving is tested in test_server.py.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import nextapi
from tests.helpers import ROOT, SEED, run_cli, write_tree

GET = "def get(req, res):\n    return 1\n"


# -- version and help ---------------------------------------------------------
def test_version_through_python_m() -> None:
    done = subprocess.run([sys.executable, "-m", "nextapi", "--version"], cwd=ROOT,
                          capture_output=True, text=True, timeout=30, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, f"nextapi {nextapi.__version__}")


@pytest.mark.parametrize("command", [[], ["dev"], ["serve"], ["start"], ["new"], ["routes"], ["check"]])
def test_help_on_every_command(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    code, out, _ = run_cli(capsys, *command, "--help")
    assert code == 0
    name = {"serve": "dev"}.get(command[0], command[0]) if command else ""  # serve: an alias of dev (R71)
    assert out.startswith(f"usage: nextapi {name}".rstrip())
    if command and command[0] in ("dev", "serve", "start"):
        assert "--host" in out and "--port" in out and "PORT" in out


def test_no_command_prints_usage_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys)
    assert code == 2 and out == ""
    assert "serve" in err and "routes" in err and "check" in err


def test_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "launch")[0] == 2


# -- routes -------------------------------------------------------------------
def test_routes_of_the_seed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "routes", str(SEED))
    assert (code, err) == (0, "")
    rows = [line.split(None, 2) for line in out.splitlines()]
    assert rows == [
        ["PATTERN", "FILE", "METHODS"],
        ["/api/comments", "api/comments.py", "ANY"],
        ["/api/comments/[id]", "api/comments/[id].py", "GET HEAD OPTIONS"],
        ["/api/hello", "api/hello.py", "ANY"],
    ]


def test_routes_are_listed_in_match_order(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pages = write_tree(tmp_path, {
        "api/[[...all]].py": GET,
        "api/users/[...rest].py": GET,
        "api/users/[id].py": "def get(req, res):\n    pass\n\ndef delete(req, res):\n    pass\n",
        "api/users/me.py": "def handler(req, res):\n    pass\n",
        "api/[team]/users.py": GET,
        "api/_private.py": GET,  # never a route
    })
    code, out, _ = run_cli(capsys, "routes", str(pages))
    assert code == 0
    rows = [line.split(None, 2) for line in out.splitlines()[1:]]
    assert [row[0] for row in rows] == [
        "/api/users/me", "/api/users/[id]", "/api/users/[...rest]", "/api/[team]/users", "/api/[[...all]]",
    ]
    assert {row[0]: row[2] for row in rows}["/api/users/[id]"] == "DELETE GET HEAD OPTIONS"


def test_routes_marks_a_broken_file_and_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pages = write_tree(tmp_path, {"api/good.py": GET, "api/bad.py": "def get(req, res)\n    pass\n"})
    code, out, err = run_cli(capsys, "routes", str(pages))
    assert code == 1
    bad = next(line for line in out.splitlines() if line.startswith("/api/bad "))
    assert "! api/bad.py:1: SyntaxError" in bad
    assert "/api/good " in out
    assert err.startswith("error: 1 file(s) failed to load")


def test_routes_with_a_conflict_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pages = write_tree(tmp_path, {"api/x.py": GET, "api/x/index.py": GET})
    code, out, err = run_cli(capsys, "routes", str(pages))
    assert (code, out) == (1, "")
    assert err == "error: route conflict: api/x.py and api/x/index.py both map to /api/x\n"


# -- check --------------------------------------------------------------------
def test_check_the_seed(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "check", str(SEED)) == (0, "ok: 3 route(s), no problems\n", "")


def test_check_reports_every_problem(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pages = write_tree(tmp_path, {
        "api/ok.py": GET,
        "api/a.py": GET,
        "api/a/index.py": GET,  # conflict 1
        "api/p/[id].py": GET,
        "api/p/[slug].py": GET,  # conflict 2
        "api/syntax.py": "def get(req, res):\n    return (\n",
        "api/imports.py": "import os\nimport no_such_module_for_nextapi\n",
        "api/empty.py": "VALUE = 1\n",
        "api/both.py": "def handler(req, res):\n    pass\n\ndef get(req, res):\n    pass\n",
        "api/config.py": "config = {'body_parsr': False}\n\n" + GET,
        "api/mw/_middleware.py": "def middleware(req, res, next)\n",
        "api/mw/x.py": GET,
    })
    code, out, err = run_cli(capsys, "check", str(pages))
    assert (code, err) == (1, "")
    lines = out.splitlines()
    problems = [line for line in lines if line.startswith("error: ")]
    assert lines[-1] == "11 route(s), 8 problem(s)"
    expected = [
        "route conflict: api/a.py and api/a/index.py",
        "route conflict: api/p/[id].py and api/p/[slug].py",
        "api/syntax.py:2: SyntaxError",
        "api/imports.py:2: ModuleNotFoundError",
        "api/empty.py: defines neither handler(req, res) nor a method function",
        "api/both.py: defines both handler() and method functions",
        "api/config.py: unknown config key(s): body_parsr",
        "api/mw/_middleware.py:1: SyntaxError",
    ]
    assert len(problems) == len(expected)
    for text in expected:
        assert sum(text in line for line in problems) == 1, (text, problems)
    assert not any("ok.py" in line for line in problems)


def test_check_a_malformed_file_name(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pages = write_tree(tmp_path, {"api/[id.py": GET})
    code, out, _ = run_cli(capsys, "check", str(pages))
    assert code == 1
    assert "malformed segment" in out


# -- missing folders: exit 2 for every command ----------------------------------
@pytest.mark.parametrize("command", ["serve", "routes", "check"])
def test_missing_pages_folder_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str) -> None:
    code, out, err = run_cli(capsys, command, str(tmp_path / "nowhere"))
    assert (code, out) == (2, "")
    assert err == f"error: pages folder not found: {tmp_path / 'nowhere'}\n"


@pytest.mark.parametrize("command", ["serve", "routes", "check"])
def test_missing_api_folder_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str) -> None:
    code, out, err = run_cli(capsys, command, str(tmp_path))
    assert (code, out) == (2, "")
    assert err == f"error: no api/ folder in {tmp_path}\n"


def test_default_pages_folder_is_pages_in_the_working_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_tree(tmp_path, {"api/here.py": GET})
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, "routes")
    assert code == 0 and "/api/here" in out


# -- serve arguments (the server itself: test_server.py) -----------------------
def test_serve_refuses_a_bad_port_from_the_environment(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    pages = write_tree(tmp_path, {"api/x.py": GET})
    monkeypatch.setenv("PORT", "http")
    assert run_cli(capsys, "serve", str(pages)) == (2, "", "error: PORT must be a number, not 'http'\n")
    monkeypatch.delenv("PORT")
    code, _, err = run_cli(capsys, "serve", str(pages), "--port", "70000")
    assert (code, err) == (2, "error: port must be from 0 to 65535, not 70000\n")


def test_serve_with_a_route_conflict_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pages = write_tree(tmp_path, {"api/x.py": GET, "api/x/index.py": GET})
    code, out, err = run_cli(capsys, "serve", str(pages), "--port", "0")
    assert (code, out) == (1, "")
    assert err.startswith("error: route conflict: api/x.py and api/x/index.py")
