"""Real servers as real processes on 127.0.0.1: the dev server, gunicorn and waitress.

The one home for starting and stopping them (test_server.py, test_reload.py;
soak.py takes its free port from here). Every process is started on a free
port, waited for with a deadline and always stopped (by pid, then its
process group if it will not go). Output goes to files, so a full pipe never
blocks a server.
"""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.helpers import ROOT

START_TIMEOUT = 20.0  # seconds for a server to accept connections
STOP_TIMEOUT = 10.0
HTTP_TIMEOUT = 5.0  # per socket operation; the stream route waits up to 20 s, so a buffering server fails

SERVERS = ("dev", "gunicorn", "waitress")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "NEXTAPI_PAGES", "NO_COLOR")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


class Proc:
    """A server process: its port, its output (in files, so a full pipe never blocks it)."""

    def __init__(self, args: list[str], port: int, logs: Path, *, cwd: Path = ROOT,
                 env: dict[str, str] | None = None) -> None:
        self.port = port
        logs.mkdir(parents=True, exist_ok=True)
        self._out_path, self._err_path = logs / "stdout.txt", logs / "stderr.txt"
        with open(self._out_path, "wb") as out, open(self._err_path, "wb") as err:
            self.proc = subprocess.Popen(args, cwd=cwd, env=env or child_env(), stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    @property
    def stdout(self) -> str:
        return self._out_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self._err_path.read_text(errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.stdout}\n{self.stderr}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"server did not listen within {START_TIMEOUT} s:\n{self.stderr}")

    def wait_output(self, text: str, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.stdout and time.monotonic() < deadline:
            time.sleep(0.02)
        out = self.stdout
        assert text in out, out
        return out

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: only what it started
                self.proc.wait(STOP_TIMEOUT)
        return self.proc.returncode


@contextmanager
def running(args: list[str], port: int, logs: Path, **kwargs: Any) -> Iterator[Proc]:
    """Start, wait until it listens, yield; always stopped, whatever happened."""
    proc = Proc(args, port, logs, **kwargs)
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


def dev_server_args(pages: Path | str, port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "nextapi", "serve", str(pages), "--port", str(port), *extra]


def gunicorn_args(pages: Path, port: int, *, workers: int = 2) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
            "--graceful-timeout", "2", f"nextapi:App({str(pages)!r})"]


def waitress_args(port: int) -> list[str]:
    """nextapi.wsgi:app with its default NEXTAPI_PAGES: run it where `pages` is the folder beside."""
    return [sys.executable, "-m", "waitress", f"--listen=127.0.0.1:{port}", "nextapi.wsgi:app"]


def server_args(kind: str, pages: Path, port: int) -> tuple[list[str], Path]:
    """The command line and working directory that serve the `pages` folder with one of SERVERS."""
    if kind == "dev":
        return dev_server_args(pages, port), ROOT
    if kind == "gunicorn":
        return gunicorn_args(pages, port), ROOT
    if kind == "waitress":
        # nextapi.wsgi:app with its default NEXTAPI_PAGES, `pages` in the working directory.
        assert pages.name == "pages", pages
        return waitress_args(port), pages.parent
    raise ValueError(f"no such server: {kind!r}, not one of {SERVERS}")


def call(port: int, method: str, path: str, body: Any = None,
         headers: dict[str, str] | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()
