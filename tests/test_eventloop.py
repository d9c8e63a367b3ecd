"""R80–R82: async handlers, method functions and middleware, on one event loop per worker thread.

In process through the test client, and over HTTP under the dev server and
gunicorn's gthread worker (threads that live across requests, as the loop does).
"""
from __future__ import annotations

import http.client
import json
import textwrap
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from nextapi import App
from nextapi.testing import Client
from tests.helpers import write_tree
from tests.servers import HTTP_TIMEOUT, Proc, call, dev_server_args, free_port, running

ASYNC_ROUTES = {
    # R80: an async handler, its return value sent (R14), and the loop it ran on
    "api/loop.py": """
        import asyncio, threading

        async def handler(req, res):
            await asyncio.sleep(0)
            return {"loop": id(asyncio.get_running_loop()), "thread": threading.get_ident()}
    """,
    # R80: async method functions, 405 and HEAD as for sync ones
    "api/items.py": """
        import asyncio
        from nextapi import HTTPError

        async def get(req, res):
            await asyncio.sleep(0)
            if req.query.get("missing"):
                raise HTTPError(404, "No such item")
            if req.query.get("boom"):
                raise RuntimeError("async boom")
            return [1, 2]

        async def post(req, res):
            await asyncio.sleep(0)
            res.status(201).json({"got": req.body})
    """,
    # R81: an async generator streams chunk by chunk (server-sent events)
    "api/events.py": """
        import asyncio, os

        async def get(req, res):
            flag = req.query.get("flag")

            async def events():
                yield "data: first\\n\\n"
                for _ in range(400):  # waits for the test, 20 s at most
                    if not flag or os.path.exists(flag):
                        break
                    await asyncio.sleep(0.05)
                yield "data: second\\n\\n"

            res.set_header("Content-Type", "text/event-stream")
            res.send(events())
    """,
    # R82: a sync function returning an awaitable has it awaited
    "api/sync_returns_coro.py": """
        import asyncio

        async def _load():
            await asyncio.sleep(0)
            return {"awaited": True}

        def handler(req, res):
            return _load()
    """,
    # R80: async middleware awaits next(); a sync one inside it; headers stay
    "api/mw/_middleware.py": """
        async def middleware(req, res, next):
            res.set_header("X-Outer", "async")
            result = await next()
            assert result == {"ran": True} or req.path != "/api/mw/inner/both"  # next() gives the handler's value
            return result
    """,
    "api/mw/inner/_middleware.py": """
        def middleware(req, res, next):
            res.set_header("X-Inner", "sync")
            return next()
    """,
    "api/mw/inner/both.py": """
        import asyncio

        async def handler(req, res):
            await asyncio.sleep(0)
            return {"ran": True}
    """,
    "api/mw/fail.py": """
        async def handler(req, res):
            res.set_header("X-Handler", "dropped")
            raise ValueError("fails after the middleware")
    """,
    "api/mw/stop.py": """
        async def handler(req, res):
            return {"never": True}
    """,
}

SYNC_AROUND_ASYNC = {
    "api/_middleware.py": """
        def middleware(req, res, next):
            res.set_header("X-Sync", "1")
            if req.query.get("stop"):
                res.status(403).json({"stopped": True})
                return None
            return next()
    """,
    "api/inner/_middleware.py": """
        import asyncio

        async def middleware(req, res, next):
            await asyncio.sleep(0)
            res.set_header("X-Async", "1")
            return await next()
    """,
    "api/inner/x.py": """
        import functools

        def logged(fn):
            @functools.wraps(fn)
            async def wrapper(req, res):
                res.set_header("X-Decorated", "1")
                return await fn(req, res)
            return wrapper

        @logged
        async def get(req, res):
            return {"x": 1}
    """,
}


@pytest.fixture
def client(tmp_path: Path) -> Client:
    return Client(App(write_tree(tmp_path, ASYNC_ROUTES)), raise_server_exceptions=False)


# -- in process ------------------------------------------------------------------------------
def test_async_handler_return_value_is_sent(client: Client) -> None:
    resp = client.get("/api/loop")
    assert resp.status == 200 and set(resp.json()) == {"loop", "thread"}


def test_the_loop_belongs_to_the_thread_and_lives_across_requests(client: Client) -> None:
    here = {client.get("/api/loop").json()["loop"] for _ in range(5)}
    assert len(here) == 1  # one loop for this thread, reused

    seen: list[int] = []
    worker = threading.Thread(target=lambda: seen.extend(client.get("/api/loop").json()["loop"] for _ in range(3)))
    worker.start()
    worker.join(10)
    assert len(set(seen)) == 1 and seen[0] not in here  # another thread, its own loop


def test_async_method_functions_405_head_and_errors(client: Client) -> None:
    assert client.get("/api/items").json() == [1, 2]
    created = client.post("/api/items", json={"a": 1})
    assert (created.status, created.json()) == (201, {"got": {"a": 1}})
    assert client.delete("/api/items").status == 405
    head = client.head("/api/items")
    assert (head.status, head.content) == (200, b"")
    missing = client.get("/api/items?missing=1")
    assert (missing.status, missing.json()) == (404, {"error": "No such item"})
    boom = client.get("/api/items?boom=1")
    assert (boom.status, boom.json()) == (500, {"error": "Internal Server Error"})


def test_the_test_client_re_raises_an_async_handlers_exception(tmp_path: Path) -> None:
    strict = Client(App(write_tree(tmp_path, ASYNC_ROUTES)))
    with pytest.raises(RuntimeError, match="async boom"):
        strict.get("/api/items?boom=1")


def test_an_async_generator_streams_chunk_by_chunk(client: Client) -> None:
    resp = client.get("/api/events")
    assert resp.headers["Content-Type"] == "text/event-stream"
    assert resp.chunks == [b"data: first\n\n", b"data: second\n\n"]


def test_a_sync_function_returning_an_awaitable_has_it_awaited(client: Client) -> None:
    assert client.get("/api/sync_returns_coro").json() == {"awaited": True}


def test_async_middleware_awaits_next_and_mixes_with_sync(client: Client) -> None:
    resp = client.get("/api/mw/inner/both")
    assert resp.json() == {"ran": True}
    assert (resp.headers["X-Outer"], resp.headers["X-Inner"]) == ("async", "sync")


def test_a_500_from_an_async_handler_keeps_the_async_middlewares_headers(client: Client) -> None:
    resp = client.get("/api/mw/fail")
    assert resp.status == 500 and resp.headers["X-Outer"] == "async" and resp.headers["X-Handler"] is None


def test_sync_middleware_around_async_middleware_and_a_decorated_async_handler(tmp_path: Path) -> None:
    client = Client(App(write_tree(tmp_path, SYNC_AROUND_ASYNC)))
    resp = client.get("/api/inner/x")
    assert resp.json() == {"x": 1}
    assert (resp.headers["X-Sync"], resp.headers["X-Async"], resp.headers["X-Decorated"]) == ("1", "1", "1")
    stopped = client.get("/api/inner/x?stop=1")  # a sync middleware that answers stops the chain
    assert (stopped.status, stopped.json(), stopped.headers["X-Async"]) == (403, {"stopped": True}, None)


def test_no_coroutine_is_sent_as_a_body_or_left_unawaited(tmp_path: Path) -> None:
    src = "async def later():\n    return 1\n\ndef handler(req, res):\n    res.send(later())\n"
    client = Client(App(write_tree(tmp_path, {"api/c.py": src})), raise_server_exceptions=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a "coroutine ... was never awaited" RuntimeWarning fails this
        resp = client.get("/api/c")
    assert resp.status == 500


def test_check_reports_no_problem_for_async_handlers(tmp_path: Path) -> None:
    assert App.check(write_tree(tmp_path, ASYNC_ROUTES)) == []


# -- over HTTP: the dev server (a thread per connection) and gunicorn's gthread worker ----------
@pytest.fixture(scope="module", params=["dev", "gthread"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    base = tmp_path_factory.mktemp("async-tree")
    pages = base / "pages"
    for rel, src in ASYNC_ROUTES.items():
        (pages / rel).parent.mkdir(parents=True, exist_ok=True)
        (pages / rel).write_text(textwrap.dedent(src))
    port = free_port()
    if request.param == "dev":
        args = dev_server_args(pages, port)
    else:
        pytest.importorskip("gunicorn")
        import sys
        args = [sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "4", "-w", "1",
                "-b", f"127.0.0.1:{port}", "--graceful-timeout", "2", f"nextapi:App({str(pages)!r})"]
    with running(args, port, tmp_path_factory.mktemp(f"logs-{request.param}")) as proc:
        proc.kind = request.param  # type: ignore[attr-defined]
        yield proc


def test_async_routes_over_http(server: Proc) -> None:
    status, _, body = call(server.port, "GET", "/api/items")
    assert (status, json.loads(body)) == (200, [1, 2])
    status, _, body = call(server.port, "POST", "/api/items", body=b'{"a": 1}',
                           headers={"Content-Type": "application/json"})
    assert (status, json.loads(body)) == (201, {"got": {"a": 1}})
    status, headers, body = call(server.port, "GET", "/api/mw/inner/both")
    assert (status, headers["X-Outer"], headers["X-Inner"]) == (200, "async", "sync")


def test_each_worker_thread_keeps_its_loop_across_requests(server: Proc) -> None:
    """The dev server gives each connection a thread of its own (so a keep-alive connection keeps
    one loop); gthread's pool threads serve request after request (so each thread keeps one loop)."""
    seen: list[dict[str, int]] = []
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=HTTP_TIMEOUT)
    try:
        for _ in range(6):
            conn.request("GET", "/api/loop")
            seen.append(json.loads(conn.getresponse().read()))
    finally:
        conn.close()
    if server.kind == "dev":  # type: ignore[attr-defined]
        assert len({s["loop"] for s in seen}) == 1
        return
    for _ in range(12):  # new connections too, spread over the worker's 4 threads
        seen.append(json.loads(call(server.port, "GET", "/api/loop")[2]))
    loops: dict[int, set[int]] = {}
    for s in seen:
        loops.setdefault(s["thread"], set()).add(s["loop"])
    assert all(len(ids) == 1 for ids in loops.values()), loops
    assert sum(len(ids) for ids in loops.values()) < len(seen)  # loops were reused, not made per request


def test_an_async_generator_reaches_the_client_before_it_finishes(server: Proc, tmp_path: Path) -> None:
    flag = tmp_path / "release"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=HTTP_TIMEOUT)
    try:
        conn.request("GET", f"/api/events?flag={quote(str(flag))}")
        resp = conn.getresponse()
        assert resp.status == 200 and resp.headers["Content-Type"] == "text/event-stream"
        assert resp.read1(64) == b"data: first\n\n"  # while the generator still waits
        flag.touch()
        assert resp.read() == b"data: second\n\n"
    finally:
        flag.touch()
        conn.close()
