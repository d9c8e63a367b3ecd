"""R50, R52: the real servers, as real processes, over real HTTP on 127.0.0.1.

The dev server (`python -m nextapi serve`), gunicorn with two workers and
waitress each serve the seed sample plus a few extra routes. Every process is
started on a free port, waited for with a deadline and always stopped (by pid,
then its process group if it will not go): tests/servers.py does that.
"""
from __future__ import annotations

import http.client
import json
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote
from urllib.request import urlopen

import pytest

from nextapi.server import format_access
from tests.helpers import ROOT, SEED
from tests.servers import (HTTP_TIMEOUT, SERVERS, STOP_TIMEOUT, Proc, call, child_env, dev_server_args, free_port,
                           running, server_args)

COMMENTS = json.loads((SEED / "api" / "comments.json").read_text())

EXTRA_ROUTES = {
    "api/echo.py": '''
        def get(req, res):
            return {"url": req.url, "query": req.query}

        def post(req, res):
            res.status(201).json({"got": req.body, "type": req.headers.get("content-type")})
    ''',
    "api/stream.py": '''
        import os
        import time

        def get(req, res):
            flag = req.query["flag"]

            def lines():
                yield "first\\n"
                for _ in range(400):  # waits for the test, 20 s at most
                    if os.path.exists(flag):
                        break
                    time.sleep(0.05)
                yield "second\\n"

            res.set_header("Content-Type", "text/plain; charset=utf-8")
            res.send(lines())
    ''',
}


def make_tree(base: Path) -> Path:
    """A copy of the seed sample plus the extra routes; returns the pages folder."""
    pages = base / "pages"
    shutil.copytree(SEED, pages, ignore=shutil.ignore_patterns("__pycache__"))
    for rel, source in EXTRA_ROUTES.items():
        (pages / rel).write_text(textwrap.dedent(source), encoding="utf-8")
    return pages


# -- the three servers, one process each for the whole module ------------------
@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tree(tmp_path_factory.mktemp("tree"))


@pytest.fixture(scope="module", params=SERVERS)
def server(request: pytest.FixtureRequest, tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    kind, port = request.param, free_port()
    logs = tmp_path_factory.mktemp(f"logs-{kind}")
    if kind != "dev":
        pytest.importorskip(kind)
    args, cwd = server_args(kind, tree, port)
    with running(args, port, logs, cwd=cwd) as proc:
        proc.kind = kind  # type: ignore[attr-defined]
        yield proc


def test_seed_comments(server: Proc) -> None:
    status, headers, body = call(server.port, "GET", "/api/comments")
    assert status == 200
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body) == COMMENTS


def test_seed_comments_of_post_7(server: Proc) -> None:
    status, _, body = call(server.port, "GET", "/api/comments/7")
    assert status == 200
    assert json.loads(body) == {"post": "7", "comments": COMMENTS}


def test_not_found_and_method_not_allowed(server: Proc) -> None:
    assert call(server.port, "GET", "/api/nope")[0] == 404
    status, headers, _ = call(server.port, "DELETE", "/api/comments/7")
    assert status == 405
    assert headers["Allow"] == "GET, HEAD, OPTIONS"


def test_post_json(server: Proc) -> None:
    payload = json.dumps({"text": "héllo", "n": [1, 2]}).encode()
    status, _, body = call(server.port, "POST", "/api/echo", payload, {"Content-Type": "application/json"})
    assert status == 201
    assert json.loads(body) == {"got": {"text": "héllo", "n": [1, 2]}, "type": "application/json"}


def test_post_json_with_a_chunked_body(server: Proc) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=HTTP_TIMEOUT)
    try:
        conn.request("POST", "/api/echo", body=iter([b'{"a":', b' [1, 2]}']),
                     headers={"Content-Type": "application/json"}, encode_chunked=True)
        resp = conn.getresponse()
        assert (resp.status, json.loads(resp.read())["got"]) == (201, {"a": [1, 2]})
    finally:
        conn.close()


def test_req_url_is_the_raw_request_target(server: Proc) -> None:
    status, _, body = call(server.port, "GET", "/api/echo?q=%41%20b&x=1")
    assert status == 200
    assert json.loads(body) == {"url": "/api/echo?q=%41%20b&x=1", "query": {"q": "A b", "x": "1"}}


def test_a_generator_reaches_the_client_before_it_finishes(server: Proc, tmp_path: Path) -> None:
    flag = tmp_path / f"release-{server.kind}"  # type: ignore[attr-defined]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=HTTP_TIMEOUT)
    try:
        conn.request("GET", f"/api/stream?flag={quote(str(flag))}")
        resp = conn.getresponse()
        assert resp.status == 200
        assert resp.headers.get("Content-Length") is None
        # The handler is now blocked until the flag exists; a server that buffered the
        # body would send nothing, and this read would time out.
        assert resp.read1(64) == b"first\n"
        flag.touch()
        assert resp.read() == b"second\n"
    finally:
        flag.touch()  # never leave the handler waiting
        conn.close()


# -- the dev server only -----------------------------------------------------
@pytest.fixture(scope="module")
def dev(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    port = free_port()
    with running(dev_server_args(tree, port), port, tmp_path_factory.mktemp("dev")) as proc:
        yield proc


def test_keep_alive_reuses_one_connection(dev: Proc, tmp_path: Path) -> None:
    flag = tmp_path / "release"
    flag.touch()
    conn = http.client.HTTPConnection("127.0.0.1", dev.port, timeout=HTTP_TIMEOUT)
    try:
        conn.request("GET", "/api/comments")
        first = conn.getresponse()
        assert first.status == 200 and not first.will_close
        first.read()
        sock = conn.sock
        # a body the handler never reads (405) must not leak into the next request
        conn.request("POST", "/api/comments", body=b"x" * 5000, headers={"Content-Type": "text/plain"})
        assert conn.getresponse().read() and conn.sock is sock
        conn.request("GET", f"/api/stream?flag={quote(str(flag))}")  # chunked, then another request
        assert conn.getresponse().read() == b"first\nsecond\n"
        conn.request("HEAD", "/api/comments/7")
        head = conn.getresponse()
        assert (head.status, head.read()) == (200, b"")
        conn.request("GET", "/api/comments/7")
        assert json.loads(conn.getresponse().read())["post"] == "7"
        assert conn.sock is sock
    finally:
        conn.close()


def test_an_upload_over_the_limit_gets_its_413(dev: Proc) -> None:
    """The handler never reads the 2 MB body; the client, still writing it, reads the 413."""
    status, _, body = call(dev.port, "POST", "/api/echo", b"x" * (2 << 20), {"Content-Type": "text/plain"})
    assert (status, json.loads(body)) == (413, {"error": "Body exceeded 1mb limit"})
    assert call(dev.port, "GET", "/api/comments/7")[0] == 200


def test_connection_close_is_honoured(dev: Proc) -> None:
    status, headers, _ = call(dev.port, "GET", "/api/comments", headers={"Connection": "close"})
    assert (status, headers["Connection"]) == (200, "close")


def test_prints_url_routes_and_an_access_line_per_request(dev: Proc) -> None:
    call(dev.port, "GET", "/api/comments/7?x=1")
    out = dev.wait_output("GET /api/comments/7?x=1 200 ")
    assert f"http://127.0.0.1:{dev.port}" in out
    for pattern in ("/api/comments ", "/api/comments/[id] ", "/api/echo ", "/api/stream "):
        assert pattern in out
    line = next(line for line in out.splitlines() if line.startswith("GET /api/comments/7?x=1 "))
    assert line.endswith(" ms") and "\x1b[" not in line  # no colour when stdout is not a terminal


def test_access_line_is_coloured_by_status_on_a_terminal() -> None:
    assert format_access("GET", "/api/x", "200", 1.25, colour=False) == "GET /api/x 200 1.2 ms"
    assert "\x1b[32m200" in format_access("GET", "/api/x", "200", 1.0, colour=True)
    assert "\x1b[33m404" in format_access("GET", "/api/x", "404", 1.0, colour=True)
    assert "\x1b[31m500" in format_access("GET", "/api/x", "500", 1.0, colour=True)


def test_readme_quick_start_with_port_from_the_environment(tmp_path: Path) -> None:
    """`python -m nextapi serve samples/comments/pages`, then curl: no install step, PORT honoured."""
    port = free_port()
    args = [sys.executable, "-m", "nextapi", "serve", "samples/comments/pages"]
    with running(args, port, tmp_path, env=child_env(PORT=str(port))), \
            urlopen(f"http://127.0.0.1:{port}/api/comments", timeout=HTTP_TIMEOUT) as resp:
        assert json.loads(resp.read()) == COMMENTS


def test_ctrl_c_exits_0_while_a_keep_alive_client_is_idle(tree: Path, tmp_path: Path) -> None:
    port = free_port()
    proc = Proc(dev_server_args(tree, port), port, tmp_path)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
    try:
        proc.wait_ready()
        conn.request("GET", "/api/comments")
        assert conn.getresponse().read()  # the connection stays open, idle, in a server thread
        proc.proc.send_signal(signal.SIGINT)
        assert proc.proc.wait(STOP_TIMEOUT) == 0
        assert "Traceback" not in proc.stderr
    finally:
        conn.close()
        proc.stop()


def test_ctrl_c_exits_0_while_a_response_is_streaming(tree: Path, tmp_path: Path) -> None:
    port, flag = free_port(), tmp_path / "never"
    proc = Proc(dev_server_args(tree, port), port, tmp_path / "logs")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
    try:
        proc.wait_ready()
        conn.request("GET", f"/api/stream?flag={quote(str(flag))}")
        assert conn.getresponse().read1(64) == b"first\n"  # the handler now waits, in a server thread
        proc.proc.send_signal(signal.SIGINT)
        assert proc.proc.wait(STOP_TIMEOUT) == 0
    finally:
        flag.touch()
        conn.close()
        proc.stop()


def test_sigterm_exits_0(tree: Path, tmp_path: Path) -> None:
    port = free_port()
    proc = Proc(dev_server_args(tree, port), port, tmp_path)
    try:
        proc.wait_ready()
        assert proc.stop(signal.SIGTERM) == 0
    finally:
        proc.stop()


def test_port_in_use_is_one_line_and_exit_1(tree: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(dev_server_args(tree, port), cwd=ROOT, env=child_env(), capture_output=True,
                              text=True, timeout=STOP_TIMEOUT, check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: port {port} on 127.0.0.1 is in use"
    assert done.stdout == ""


@pytest.mark.parametrize("missing", ["nowhere", "api-less"])
def test_missing_pages_or_api_folder_is_one_line_and_exit_2(tmp_path: Path, missing: str) -> None:
    (tmp_path / "api-less").mkdir()
    done = subprocess.run(dev_server_args(tmp_path / missing, free_port()), cwd=ROOT, env=child_env(),
                          capture_output=True, text=True, timeout=STOP_TIMEOUT, check=False)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("error: ")
