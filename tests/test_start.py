"""R71 (with R73's side of the commands): `nextapi dev` and `nextapi start`, and what DIR means.

DIR is the project folder (holding pages/) or the pages folder itself, `.` by default
(so ./pages when it exists). `dev` reads the development `.env` files, `start` the
production ones; a malformed line is exit 1 naming file and line. `start` runs gunicorn
(exec'd, N workers), else waitress, else exits 1 saying to install one: never the dev
server. Most tests run `main()` in this process, with os.execve replaced so nothing can
turn the test run into a gunicorn; one real gunicorn per signal and one waitress run as
processes on 127.0.0.1 and a free port, always stopped.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nextapi import cli
from nextapi.cli import default_workers, main, production_server
from tests.helpers import run_cli, write_tree
from tests.servers import Proc, call, child_env, free_port

GET = "def get(req, res):\n    return 1\n"
ENV_ROUTE = """
import os

AT_IMPORT = os.environ.get("NXT_MODE")  # read when the handler is imported


def get(req, res):
    return {"mode": os.environ.get("NXT_MODE"), "at_import": AT_IMPORT, "shared": os.environ.get("NXT_SHARED"),
            "pid": os.getpid()}
"""
ENV_FILES = {
    ".env.development": "NXT_MODE=development\n",
    ".env.production": "NXT_MODE=production\n",
    ".env": "NXT_SHARED=from .env\nNXT_MODE=never: the mode's file comes first\n",
}


@pytest.fixture
def environ() -> Iterator[os._Environ[str]]:
    """os.environ, put back as it was afterwards (the commands load .env files into it)."""
    saved = dict(os.environ)
    yield os.environ
    for key in set(os.environ) - set(saved):
        del os.environ[key]
    os.environ.update(saved)


class Exec(Exception):
    """os.execve was called: the test process is never replaced."""


@pytest.fixture(autouse=True)
def no_exec(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str], dict[str, str]]]:
    calls: list[tuple[str, list[str], dict[str, str]]] = []

    def execve(path: str, argv: list[str], env: dict[str, str]) -> None:
        calls.append((path, list(argv), dict(env)))
        raise Exec

    monkeypatch.setattr(os, "execve", execve)
    return calls


def project(base: Path, files: dict[str, str] | None = None, env: dict[str, str] | None = None) -> Path:
    """base/pages/api/... plus .env files in base; returns the project folder."""
    write_tree(base, files or {"api/env.py": ENV_ROUTE})
    for name, text in (env or {}).items():
        (base / name).write_text(text, encoding="utf-8")
    return base


# -- DIR ----------------------------------------------------------------------
def test_dir_is_the_project_folder_or_the_pages_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = project(tmp_path, {"api/here.py": GET})
    assert cli._locate(str(root)) == (str(root), str(root / "pages"))
    assert cli._locate(str(root / "pages")) == (str(root), str(root / "pages"))
    monkeypatch.chdir(root)
    assert cli._locate(None) == (str(root), str(root / "pages"))  # ./pages exists
    monkeypatch.chdir(root / "pages")
    assert cli._locate(None) == (str(root), str(root / "pages"))  # else . is the pages folder
    for where in (root, root / "pages"):
        monkeypatch.chdir(where)
        code, out, _ = run_cli(capsys, "routes")
        assert code == 0 and "/api/here" in out
        assert run_cli(capsys, "check")[:2] == (0, "ok: 1 route(s), no problems\n")


def test_a_pages_folder_with_a_pages_subfolder_is_still_the_pages_folder(tmp_path: Path) -> None:
    # pages/pages/x.html is the page /pages/x: a folder with api/ is the pages folder.
    root = project(tmp_path, {"api/x.py": GET, "pages/x.html": "<p>x</p>"})
    assert cli._locate(str(root / "pages")) == (str(root), str(root / "pages"))


@pytest.mark.parametrize("command", ["dev", "start", "routes", "check"])
def test_a_project_folder_without_api_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                              command: str) -> None:
    (tmp_path / "pages").mkdir()
    code, out, err = run_cli(capsys, command, str(tmp_path))
    assert (code, out) == (2, "")
    assert err == f"error: no api/ folder in {tmp_path / 'pages'}\n"


# -- dev: the development .env files ---------------------------------------------
def test_dev_reads_the_development_files_before_importing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    environ: os._Environ[str],
) -> None:
    from nextapi.server import DevServer

    seen: dict[str, Any] = {}

    def serve_forever(self: DevServer, poll_interval: float = 0.5) -> None:
        from nextapi.testing import Client

        seen["body"] = Client(self.get_app()).get("/api/env").json()
        raise KeyboardInterrupt  # as Ctrl-C would

    monkeypatch.setattr(DevServer, "serve_forever", serve_forever)
    root = project(tmp_path, env=ENV_FILES)
    code, out, err = run_cli(capsys, "dev", str(root), "--port", "0")
    assert (code, err) == (0, "")
    assert seen["body"]["mode"] == seen["body"]["at_import"] == "development"
    assert seen["body"]["shared"] == "from .env"
    assert "env: .env.development, .env\n" in out
    assert out.rstrip().endswith("stopped")


@pytest.mark.parametrize("command, name", [("dev", ".env.development"), ("start", ".env.production"),
                                           ("serve", ".env.local"), ("check", ".env")])
def test_a_malformed_line_stops_the_command_naming_file_and_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    environ: os._Environ[str], command: str, name: str,
) -> None:
    monkeypatch.setattr(cli, "production_server", lambda: "gunicorn")  # start gets as far as the files
    root = project(tmp_path, env={name: "# settings\nNXT_OK=1\nNXT_BAD='no closing quote\n"})
    monkeypatch.chdir(root)
    code, out, err = run_cli(capsys, command, "--port", "0") if command != "check" else run_cli(capsys, command)
    assert (code, out) == (1, "")
    assert err.startswith(f"error: {name}:3: unterminated single quote")
    assert "NXT_OK" not in environ


# -- start: which server -----------------------------------------------------
def test_start_without_gunicorn_or_waitress_exits_1_saying_to_install_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    no_exec: list[Any],
) -> None:
    monkeypatch.setitem(sys.modules, "gunicorn", None)  # import gunicorn now fails, find_spec says None
    monkeypatch.setitem(sys.modules, "waitress", None)
    assert production_server() is None
    code, out, err = run_cli(capsys, "start", str(project(tmp_path)), "--port", "0")
    assert (code, out) == (1, "")
    assert err == "error: nextapi start needs a production WSGI server: pip install gunicorn (or waitress)\n"
    assert no_exec == []


def test_start_prefers_gunicorn_then_waitress(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("gunicorn")
    pytest.importorskip("waitress")
    assert production_server() == ("waitress" if os.name == "nt" else "gunicorn")
    monkeypatch.setitem(sys.modules, "gunicorn", None)
    assert production_server() == "waitress"


def test_start_execs_gunicorn_with_the_workers_and_the_production_env(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    environ: os._Environ[str], no_exec: list[Any],
) -> None:
    pytest.importorskip("gunicorn")
    monkeypatch.setattr(cli, "production_server", lambda: "gunicorn")
    root = project(tmp_path, env=ENV_FILES)
    port = free_port()
    with pytest.raises(Exec):
        main(["start", str(root), "--port", str(port), "--workers", "3"])
    path, argv, env = no_exec[0]
    assert path == sys.executable
    assert argv == [sys.executable, "-m", "gunicorn", "--workers", "3", "--bind", f"127.0.0.1:{port}",
                    "nextapi.wsgi:app"]
    assert env["NEXTAPI_PAGES"] == str(root / "pages")
    assert (env["NXT_MODE"], env["NXT_SHARED"]) == ("production", "from .env")
    out = capsys.readouterr().out
    assert out.startswith(f"nextapi {cli.__version__} production server: gunicorn, 3 workers: http://127.0.0.1:{port}\n")
    assert "env: .env.production, .env\n" in out


def test_start_defaults_to_2_x_cpus_plus_1_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_exec: list[Any],
) -> None:
    if hasattr(os, "sched_getaffinity"):
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2})
    else:
        monkeypatch.setattr(os, "cpu_count", lambda: 3)
    assert default_workers() == 7
    monkeypatch.setattr(cli, "production_server", lambda: "gunicorn")
    with pytest.raises(Exec):
        main(["start", str(project(tmp_path)), "--port", str(free_port())])
    argv = no_exec[0][1]
    assert argv[argv.index("--workers") + 1] == "7"


def test_start_checks_the_app_and_the_port_before_handing_over(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_exec: list[Any],
) -> None:
    monkeypatch.setattr(cli, "production_server", lambda: "gunicorn")
    broken = project(tmp_path / "broken", {"api/bad.py": "def get(req, res)\n    pass\n"})
    code, out, err = run_cli(capsys, "start", str(broken), "--port", "0")
    assert (code, out) == (1, "")
    assert err.startswith("error: ") and "bad.py:1: SyntaxError" in err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run_cli(capsys, "start", str(project(tmp_path / "ok")), "--port", str(port))
    assert (code, out, err) == (1, "", f"error: port {port} on 127.0.0.1 is in use\n")
    assert run_cli(capsys, "start", str(project(tmp_path / "ok")), "--workers", "0")[::2] == (
        2, "error: --workers must be 1 or more, not 0\n")
    assert no_exec == []


# -- start: the real servers, as processes ------------------------------------------
def _served(tmp_path: Path) -> Path:
    return project(tmp_path, env=ENV_FILES)


def _answer(proc: Proc) -> tuple[int, dict[str, str], Any]:
    status, headers, body = call(proc.port, "GET", "/api/env")
    return status, dict(headers.items()), json.loads(body)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_start_serves_with_gunicorn_and_stops_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    pytest.importorskip("gunicorn")
    if os.name == "nt":
        pytest.skip("gunicorn does not run on Windows")
    port = free_port()
    args = [sys.executable, "-m", "nextapi", "start", str(_served(tmp_path)), "--host", "127.0.0.1",
            "--port", str(port), "--workers", "2"]
    proc = Proc(args, port, tmp_path / "logs", env=child_env())
    try:
        proc.wait_ready()
        status, headers, body = _answer(proc)
        assert status == 200
        assert headers["Server"] == "gunicorn"  # never the dev server
        assert (body["mode"], body["at_import"], body["shared"]) == ("production", "production", "from .env")
        assert body["pid"] != proc.proc.pid  # a worker answered; the arbiter is the process we started
        assert "gunicorn, 2 workers" in proc.stdout
        code = proc.stop(sig)
    finally:
        proc.stop()
    assert code == 0, proc.stderr


BLOCK_GUNICORN = "import sys; sys.modules['gunicorn'] = None; from nextapi.cli import main; raise SystemExit(main())"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_start_serves_with_waitress_when_gunicorn_is_missing(tmp_path: Path, sig: signal.Signals) -> None:
    pytest.importorskip("waitress")
    port = free_port()
    args = [sys.executable, "-c", BLOCK_GUNICORN, "start", str(_served(tmp_path)), "--port", str(port),
            "--workers", "3"]
    proc = Proc(args, port, tmp_path / "logs", env=child_env())
    try:
        proc.wait_ready()
        status, headers, body = _answer(proc)
        assert status == 200
        assert headers["Server"] == "waitress"
        assert (body["mode"], body["at_import"]) == ("production", "production")
        assert body["pid"] == proc.proc.pid  # in this process, with threads
        assert "waitress, 3 threads" in proc.stdout
        code = proc.stop(sig)
    finally:
        proc.stop()
    assert code == 0, proc.stderr
    assert proc.stdout.rstrip().endswith("stopped")
