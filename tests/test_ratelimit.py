"""R104: nextapi.rate_limit, its stores, and the limit held under gunicorn -w 4.

Time is injected: a limiter's `clock` attribute (default `time.time`) is
replaced by a fixed function, so windows and their boundaries are exact. The
stores take the window start from the limiter and read no clock themselves.
The real-server test cannot fix the clock: it uses "10/hour" and, within 15 s
of the hour, waits for the next one, so its 40 requests fall in one window.
"""
from __future__ import annotations

import multiprocessing
import sqlite3
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import nextapi
from nextapi import App, MemoryStore, SQLiteStore, rate_limit
from nextapi.batteries.ratelimit import RateLimit, RateLimitStore, parse_limit
from nextapi.testing import Client, TestResponse
from tests.helpers import write_tree
from tests.servers import call, child_env, free_port, gunicorn_args, running

T0 = 1_699_999_980  # a whole minute (not a whole hour) in Unix seconds
HELLO = "def handler(req, res):\n    return {'ok': True}\n"
TOO_MANY = {"error": "Too Many Requests"}


def at(limiter: RateLimit, t: float) -> RateLimit:
    limiter.clock = lambda: t
    return limiter


def client(tmp_path: Path, middleware: list[Any], files: dict[str, str] | None = None, **kw: Any) -> Client:
    pages = write_tree(tmp_path, files or {"api/hello.py": HELLO})
    return Client(App(pages, middleware=middleware), **kw)


def limit_headers(resp: TestResponse) -> tuple[str | None, str | None, str | None]:
    h = resp.headers
    return h.get("RateLimit-Limit"), h.get("RateLimit-Remaining"), h.get("RateLimit-Reset")


# -- the limit as written --------------------------------------------------------
@pytest.mark.parametrize(("text", "parsed"), [
    ("10/minute", (10, 60)), ("100/hour", (100, 3600)), ("5/second", (5, 1)), ("1/day", (1, 86400)),
    (" 3 / Minutes ", (3, 60)), ("2/HOUR", (2, 3600)), ("1000000/days", (1000000, 86400)),
])
def test_parse(text: str, parsed: tuple[int, int]) -> None:
    assert parse_limit(text) == parsed
    limiter = rate_limit(text)
    assert (limiter.limit, limiter.window) == parsed


@pytest.mark.parametrize("bad", ["10", "/minute", "0/minute", "-1/minute", "10/week", "ten/minute", "",
                                 "10/minute/2", "10 per minute", "1.5/second", "10/min", "10//minute", 10, None])
def test_a_bad_limit_is_a_value_error_when_made(bad: Any) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        rate_limit(bad)


def test_exported_from_nextapi() -> None:
    for name in ("rate_limit", "SQLiteStore", "MemoryStore"):
        assert name in nextapi.__all__ and getattr(nextapi, name)
    assert isinstance(rate_limit("1/second"), nextapi.batteries._base.Battery)


# -- windows ---------------------------------------------------------------------
class Recording:
    """A store that remembers what it was asked: the protocol from the outside."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []
        self.counts: Counter[tuple[str, int, int]] = Counter()

    def hit(self, key: str, window_start: int, window_seconds: int) -> int:
        self.calls.append((key, window_start, window_seconds))
        self.counts[key, window_start, window_seconds] += 1
        return self.counts[key, window_start, window_seconds]


@pytest.mark.parametrize(("limit", "size"), [("1/second", 1), ("1/minute", 60), ("1/hour", 3600), ("1/day", 86400)])
@pytest.mark.parametrize("t", [T0, T0 + 0.001, T0 + 59.999, 1_700_003_599.5, 1_700_006_400.0, 1_234_567_890.25])
def test_windows_are_aligned_to_the_clock(tmp_path: Path, limit: str, size: int, t: float) -> None:
    store = Recording()
    limiter = at(rate_limit(limit, store=store), t)
    resp = client(tmp_path, [limiter]).get("/api/hello")
    (_, start, seconds), = store.calls
    assert seconds == size and start % size == 0 and start <= t < start + size
    assert start == int(t // size) * size
    reset = int(resp.headers["RateLimit-Reset"])
    assert reset >= 1 and reset == -(-(start + size - t) // 1)  # whole seconds to the window's end, rounded up


def test_a_minute_window_starts_on_the_minute(tmp_path: Path) -> None:
    limiter = rate_limit("2/minute")
    c = client(tmp_path, [limiter])
    at(limiter, T0 + 58)
    assert [c.get("/api/hello").status for _ in range(3)] == [200, 200, 429]
    at(limiter, T0 + 59.9)
    late = c.get("/api/hello")
    assert late.status == 429 and late.headers["Retry-After"] == "1" and late.headers["RateLimit-Reset"] == "1"
    at(limiter, T0 + 60)  # the next minute: counted afresh, 2 s after the first requests
    fresh = c.get("/api/hello")
    assert fresh.status == 200 and limit_headers(fresh) == ("2", "1", "60")


# -- the answers -----------------------------------------------------------------
def test_exactly_limit_pass_then_429(tmp_path: Path) -> None:
    c = client(tmp_path, [at(rate_limit("3/minute"), T0 + 15.5)])
    answers = [c.get("/api/hello") for _ in range(5)]
    assert [r.status for r in answers] == [200, 200, 200, 429, 429]
    assert [limit_headers(r) for r in answers] == [("3", "2", "45"), ("3", "1", "45"), ("3", "0", "45"),
                                                  ("3", "0", "45"), ("3", "0", "45")]
    for r in answers[:3]:
        assert r.json() == {"ok": True} and "Retry-After" not in r.headers
    for r in answers[3:]:
        assert r.content == b'{"error":"Too Many Requests"}' and r.json() == TOO_MANY
        assert r.headers["Content-Type"].startswith("application/json")
        assert r.headers["Retry-After"] == "45"


def test_the_handler_does_not_run_past_the_limit(tmp_path: Path) -> None:
    log = tmp_path / "runs.txt"
    src = ("from nextapi import rate_limit\n"
           "@rate_limit('2/day')\n"
           "def handler(req, res):\n"
           f"    with open({str(log)!r}, 'a') as f:\n"
           "        f.write('ran\\n')\n"
           "    return {'ok': True}\n")
    c = Client(App(write_tree(tmp_path, {"api/hello.py": src})))
    assert [c.get("/api/hello").status for _ in range(4)] == [200, 200, 429, 429]
    assert log.read_text() == "ran\nran\n"


def test_headers_on_errors_under_app_middleware(tmp_path: Path) -> None:
    files = {
        "api/hello.py": HELLO,
        "api/bad.py": "from nextapi import HTTPError\ndef handler(req, res):\n    raise HTTPError(400, 'no')\n",
        "api/boom.py": "def handler(req, res):\n    raise RuntimeError('boom')\n",
        "api/only_get.py": "def get(req, res):\n    return 'x'\n",
    }
    c = client(tmp_path, [at(rate_limit("10/hour"), T0)], files, raise_server_exceptions=False)
    expected = [("/api/nowhere", 404), ("/api/bad", 400), ("/api/boom", 500), ("/api/hello", 200)]
    for i, (path, status) in enumerate(expected):
        resp = c.get(path)
        assert resp.status == status, resp.text
        assert limit_headers(resp) == ("10", str(9 - i), str(3600 - (T0 % 3600))), path
    resp = c.post("/api/only_get")
    assert resp.status == 405 and limit_headers(resp)[1] == "5" and resp.headers["Allow"]


def test_folder_middleware_and_a_429_inside_it(tmp_path: Path) -> None:
    files = {"api/_middleware.py": "from nextapi import rate_limit\nmiddleware = rate_limit('1/day')\n",
             "api/hello.py": HELLO}
    c = Client(App(write_tree(tmp_path, files)))
    first, second = c.get("/api/hello"), c.get("/api/hello")
    assert first.status == 200 and limit_headers(first)[:2] == ("1", "0")
    assert second.status == 429 and second.json() == TOO_MANY
    assert 1 <= int(second.headers["Retry-After"]) <= 86400
    assert second.headers["Retry-After"] == second.headers["RateLimit-Reset"]


def test_as_a_decorator_a_500_keeps_the_headers(tmp_path: Path) -> None:
    src = ("from nextapi import rate_limit\n"
           "@rate_limit('5/minute')\n"
           "def handler(req, res):\n"
           "    res.set_header('X-Mine', '1')\n"
           "    if 'boom' in req.query:\n"
           "        raise RuntimeError('boom')\n"
           "    return {'ok': True}\n")
    c = Client(App(write_tree(tmp_path, {"api/hello.py": src})), raise_server_exceptions=False)
    ok, boom = c.get("/api/hello"), c.get("/api/hello?boom")
    assert ok.status == 200 and limit_headers(ok)[:2] == ("5", "4") and ok.headers["X-Mine"] == "1"
    assert boom.status == 500 and limit_headers(boom)[:2] == ("5", "3") and "X-Mine" not in boom.headers


def test_async_handlers_and_async_middleware(tmp_path: Path) -> None:
    files = {
        "api/_middleware.py": ("from nextapi import rate_limit\n"
                               "limiter = rate_limit('2/hour')\n"
                               "async def middleware(req, res, next):\n"
                               "    res.set_header('X-Async', 'yes')\n"
                               "    return await next()\n"),
        "api/a.py": ("from nextapi import rate_limit\n"
                     "@rate_limit('1/hour')\n"
                     "async def handler(req, res):\n"
                     "    return {'async': True}\n"),
        "api/b.py": "async def handler(req, res):\n    return {'b': True}\n",
    }
    c = Client(App(write_tree(tmp_path, files), middleware=[rate_limit("3/hour")]))
    a1, a2 = c.get("/api/a"), c.get("/api/a")
    assert a1.status == 200 and a1.json() == {"async": True} and a1.headers["X-Async"] == "yes"
    assert a2.status == 429 and a2.json() == TOO_MANY and a2.headers["RateLimit-Limit"] == "1"
    b1, b2 = c.get("/api/b"), c.get("/api/b")
    assert b1.status == 200 and b1.headers["RateLimit-Remaining"] == "0"  # the app's 3/hour, third request
    assert b2.status == 429 and b2.headers["RateLimit-Limit"] == "3"


# -- keys ------------------------------------------------------------------------
def test_each_ip_counts_alone(tmp_path: Path) -> None:
    c = client(tmp_path, [at(rate_limit("2/minute"), T0)])

    def status(ip: str) -> int:
        return c.get("/api/hello", environ={"REMOTE_ADDR": ip}).status

    assert [status("10.0.0.1") for _ in range(3)] == [200, 200, 429]
    assert [status("10.0.0.2") for _ in range(3)] == [200, 200, 429]
    assert status("2001:db8::1") == 200 and status("10.0.0.1") == 429


def test_behind_a_trusted_proxy_the_forwarded_client_is_the_key(tmp_path: Path) -> None:
    pages = write_tree(tmp_path, {"api/hello.py": HELLO})
    c = Client(App(pages, middleware=[at(rate_limit("1/minute"), T0)], trusted_proxies=["127.0.0.1"]))

    def status(client_ip: str) -> int:
        return c.get("/api/hello", headers={"X-Forwarded-For": client_ip}).status

    assert [status("203.0.113.5"), status("203.0.113.5"), status("203.0.113.6")] == [200, 429, 200]


def test_a_key_of_your_own(tmp_path: Path) -> None:
    seen: list[str] = []

    def by_api_key(req: Any) -> str | None:
        seen.append(req.ip)
        return req.headers.get("X-API-Key")  # None: not counted at all

    c = client(tmp_path, [at(rate_limit("1/minute", key=by_api_key), T0)])
    assert c.get("/api/hello", headers={"X-API-Key": "a"}).status == 200
    assert c.get("/api/hello", headers={"X-API-Key": "a"}).status == 429
    assert c.get("/api/hello", headers={"X-API-Key": "b"}).status == 200
    free = [c.get("/api/hello") for _ in range(3)]
    assert [r.status for r in free] == [200] * 3 and all(limit_headers(r) == (None, None, None) for r in free)
    assert seen == ["127.0.0.1"] * 6


def test_limiters_sharing_a_store_keep_their_own_counts(tmp_path: Path) -> None:
    store = MemoryStore()
    c = client(tmp_path, [at(rate_limit("3/minute", store=store), T0), at(rate_limit("2/minute", store=store), T0)])
    statuses = [c.get("/api/hello").status for _ in range(4)]
    assert statuses == [200, 200, 429, 429]  # the inner 2/minute: the outer's count is not its count
    resp = c.get("/api/hello")
    assert resp.headers["RateLimit-Limit"] == "3" and resp.status == 429  # the outer one, 5 > 3


def test_a_store_of_your_own(tmp_path: Path) -> None:
    store = Recording()
    typed: RateLimitStore = store  # the protocol is the one method
    c = client(tmp_path, [at(rate_limit("2/minute", store=typed), T0 + 1)])
    assert [c.get("/api/hello").status for _ in range(3)] == [200, 200, 429]
    assert store.calls == [("2/60|127.0.0.1", T0, 60)] * 3


# -- stores ----------------------------------------------------------------------
def hammer(hit: Callable[[], int], threads: int, each: int) -> list[int]:
    counts: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def work() -> None:
        barrier.wait(10)
        mine = [hit() for _ in range(each)]
        with lock:
            counts.extend(mine)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert not any(w.is_alive() for w in workers)
    return counts


def test_memory_store_counts_every_hit_once_across_threads() -> None:
    store = MemoryStore()
    counts = hammer(lambda: store.hit("k", T0, 60), threads=16, each=250)
    assert sorted(counts) == list(range(1, 4001))


def test_memory_store_under_threads_lets_exactly_the_limit_through(tmp_path: Path) -> None:
    pages = write_tree(tmp_path, {"api/hello.py": HELLO})
    app = App(pages, middleware=[at(rate_limit("50/minute"), T0)])
    local = threading.local()

    def get() -> int:
        if not hasattr(local, "client"):
            local.client = Client(app, cookies=False)
        return int(local.client.get("/api/hello").status)

    statuses = Counter(hammer(get, threads=8, each=25))
    assert statuses == {200: 50, 429: 150}


def test_memory_store_forgets_windows_that_are_over() -> None:
    store = MemoryStore()
    hour = T0 - T0 % 3600
    for i in range(100):
        store.hit(f"ip{i}", T0, 60)
    assert store.hit("long", hour, 3600) == 1
    assert store.hit("ip0", T0 + 60, 60) == 1  # the next minute: the last one is over, the hour is not
    assert set(store._windows) == {(T0 + 60, 60), (hour, 3600)}
    assert store.hit("long", hour, 3600) == 2


def test_sqlite_store_counts_and_shares_between_instances(tmp_path: Path) -> None:
    db = tmp_path / "rl.db"
    a, b = SQLiteStore(db), SQLiteStore(str(db))
    assert [a.hit("k", T0, 60), b.hit("k", T0, 60), a.hit("k", T0, 60)] == [1, 2, 3]
    assert a.hit("other", T0, 60) == 1 and a.hit("k", T0, 3600) == 1 and a.hit("k", T0 + 60, 60) == 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    a.close()
    assert a.hit("k", T0 + 60, 60) == 2  # reopened on use
    a.close()
    b.close()


def test_sqlite_store_purges_windows_that_are_over(tmp_path: Path) -> None:
    db = tmp_path / "rl.db"
    store = SQLiteStore(db)
    for i in range(20):
        store.hit(f"ip{i}", T0, 60)
    store.hit("day", T0 - T0 % 86400, 86400)
    store.close()
    later = SQLiteStore(db)  # another process, say: it purges on the first window it sees
    assert later.hit("ip0", T0 + 120, 60) == 1
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT key, window_start FROM nextapi_rate_limit ORDER BY key").fetchall()
    assert rows == [("day", T0 - T0 % 86400), ("ip0", T0 + 120)]
    later.close()


def test_sqlite_store_across_threads(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "rl.db")
    counts = hammer(lambda: store.hit("k", T0, 60), threads=8, each=40)
    assert sorted(counts) == list(range(1, 321))


def _hit_many(store: SQLiteStore, n: int, start: Any, out: Any) -> None:
    start.wait(20)
    out.put([store.hit("k", T0, 60) for _ in range(n)])


@pytest.mark.skipif(sys.platform == "win32", reason="fork")
def test_sqlite_store_across_forked_processes(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "rl.db")
    assert store.hit("k", T0, 60) == 1  # the parent has a connection open before the fork
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_hit_many, args=(store, 30, start, out)) for _ in range(4)]
    for p in procs:
        p.start()
    try:
        start.set()
        counts = [c for _ in procs for c in out.get(timeout=60)]
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
    assert all(p.exitcode == 0 for p in procs)
    assert sorted(counts) == list(range(2, 122))
    assert store.hit("k", T0, 60) == 122  # the parent's own connection still works
    store.close()


# -- gunicorn -w 4 ---------------------------------------------------------------
# The pause keeps a worker busy, so concurrent requests spread over the four (else one may take all).
MIDDLEWARE = """\
import os
import time
from nextapi import SQLiteStore, rate_limit

limiter = rate_limit("10/hour", store=SQLiteStore(os.environ["RL_DB"]))

def middleware(req, res, next):
    res.set_header("X-Worker", str(os.getpid()))
    time.sleep(0.05)
    return limiter(req, res, next)
"""


def _clear_of_the_hour(margin: float = 15.0) -> None:
    """Within `margin` s of the hour, wait for the next one: the test's requests share one window."""
    left = 3600 - time.time() % 3600
    if left < margin:
        time.sleep(left + 0.2)


def test_gunicorn_four_workers_share_one_sqlite_count(tmp_path: Path) -> None:
    pytest.importorskip("gunicorn")
    pages = write_tree(tmp_path, {"api/_middleware.py": MIDDLEWARE, "api/hello.py": HELLO})
    port = free_port()
    env = child_env(RL_DB=str(tmp_path / "rl.db"))
    with running(gunicorn_args(pages, port, workers=4), port, tmp_path / "logs", env=env) as server:
        deadline = time.monotonic() + 20
        while server.stderr.count("Booting worker") < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.stderr.count("Booting worker") == 4, server.stderr
        _clear_of_the_hour()
        results: list[tuple[int, str, str, bytes]] = []
        lock = threading.Lock()

        def get() -> int:
            status, headers, body = call(port, "GET", "/api/hello")
            with lock:
                results.append((status, headers["X-Worker"], headers["RateLimit-Remaining"], body))
            return status

        statuses = Counter(hammer(get, threads=8, each=5))
        assert statuses == {200: 10, 429: 30}, (statuses, server.stderr)
    assert sorted(int(r[2]) for r in results if r[0] == 200) == list(range(10))
    assert all(r[3] == b'{"error":"Too Many Requests"}' for r in results if r[0] == 429)
    assert len({r[1] for r in results}) >= 2, "every request went to one worker: nothing was shared"
