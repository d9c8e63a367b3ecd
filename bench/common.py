"""Shared by every benchmark section: the apps, the workloads, WSGI environs and
ASGI scopes, timing of a batch of direct WSGI or ASGI calls, medians and Markdown tables.
"""
from __future__ import annotations

import asyncio
import gc
import importlib
import io
import os
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
APPS = os.path.join(BENCH, "apps")
for _p in (ROOT, APPS):  # nextapi from this checkout; benchdata and the apps
    if _p not in sys.path:
        sys.path.insert(0, _p)

from benchdata import ECHO_BODY, TYPED_BODY  # noqa: E402

FRAMEWORKS = ("bare", "nextapi", "falcon", "bottle", "flask")
# In-process only: the same nextapi routes written `async def` (the cost of the event loop), and
# behind App(middleware=[cors(...), sessions(...)]) (the cost of those two batteries).
VARIANTS = ("nextapi_async", "nextapi_batteries")
# ASGI, for the typed workload only (bench/typed.py): in-process through its ASGI interface, under uvicorn.
ASGI = ("fastapi",)
MODULES = {name: f"{name}_app" for name in FRAMEWORKS + VARIANTS + ASGI}
LABELS = {"bare": "bare WSGI", "nextapi": "nextapi", "falcon": "Falcon", "bottle": "Bottle", "flask": "Flask",
          "nextapi_async": "nextapi async def", "nextapi_batteries": "nextapi + cors + sessions", "fastapi": "FastAPI"}


@dataclass(frozen=True)
class Workload:
    key: str
    label: str
    method: str
    path: str
    query: str = ""
    body: bytes = b""
    status: int = 200

    @property
    def url(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")


WORKLOADS = (
    Workload("A", "GET /api/comments", "GET", "/api/comments"),
    Workload("B", "GET /api/comments/42?x=1", "GET", "/api/comments/42", "x=1"),
    Workload("C", f"POST /api/echo ({len(ECHO_BODY)} B JSON)", "POST", "/api/echo", body=ECHO_BODY),
    Workload("D", "GET /api/nope (404)", "GET", "/api/nope", status=404),
)

# Typed C (bench/typed.py): a 3-field body validated into a declared type and echoed back through
# the return type; and the same bytes through the untyped C route, for typed / untyped.
TYPED_WORKLOADS = (
    Workload("Ct", f"POST /api/typed ({len(TYPED_BODY)} B JSON, typed)", "POST", "/api/typed", body=TYPED_BODY),
    Workload("Cu", f"POST /api/echo (the same {len(TYPED_BODY)} B, untyped)", "POST", "/api/echo", body=TYPED_BODY),
)


def load_app(name: str) -> Callable[..., Any]:
    return importlib.import_module(MODULES[name]).app


def template(method: str, path: str, query: str = "", body: bytes = b"") -> dict[str, Any]:
    """An environ shaped like gunicorn's for a request wrk would send."""
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "RAW_URI": path + (f"?{query}" if query else ""),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_SOFTWARE": "bench",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "nextapi-bench",
        "HTTP_ACCEPT": "*/*",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
    }
    if body:
        env["CONTENT_TYPE"] = "application/json"
        env["CONTENT_LENGTH"] = str(len(body))
    return env


def environs(tmpl: dict[str, Any], body: bytes, n: int) -> list[dict[str, Any]]:
    """n fresh environs, each with its own unread wsgi.input."""
    out = []
    for _ in range(n):
        env = tmpl.copy()
        env["wsgi.input"] = io.BytesIO(body)
        out.append(env)
    return out


def _start_response(status: str, headers: list, exc_info: Any = None) -> Callable[[bytes], None]:
    return _write


def _write(data: bytes) -> None:
    pass


def call(app: Callable[..., Any], tmpl: dict[str, Any], body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """One request: (status code, headers with lower-case names, body bytes)."""
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list, exc_info: Any = None) -> Callable[[bytes], None]:
        seen["status"], seen["headers"] = status, headers
        return _write

    out = app(environs(tmpl, body, 1)[0], start_response)
    try:
        data = b"".join(out)
    finally:
        if hasattr(out, "close"):
            out.close()
    return int(seen["status"].split()[0]), {k.lower(): v for k, v in seen["headers"]}, data


def time_batch(app: Callable[..., Any], envs: Iterable[dict[str, Any]], n: int) -> float:
    """Microseconds per request over a batch of direct WSGI calls, body consumed and closed."""
    gc.collect()
    t0 = time.perf_counter()
    drive_wsgi(app, envs)
    return (time.perf_counter() - t0) / n * 1e6


def drive_wsgi(app: Callable[..., Any], envs: Iterable[dict[str, Any]]) -> None:
    """Call the app once per environ as a server would: the body consumed, then closed."""
    start_response = _start_response
    for env in envs:
        out = app(env, start_response)
        for _ in out:
            pass
        if hasattr(out, "close"):
            out.close()


# -- ASGI, driven directly: no server, no sockets -------------------------------
def asgi_scope(method: str, path: str, query: str = "", body: bytes = b"") -> dict[str, Any]:
    """An HTTP scope shaped like uvicorn's for the request wrk would send (the headers as template's)."""
    headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"nextapi-bench"), (b"accept", b"*/*")]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
            "query_string": query.encode(), "headers": headers, "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000)}


def _receiver(body: bytes) -> Callable[[], Any]:
    """The request body once, as one message; then a disconnect, as a server sends when asked again."""
    pending = [{"type": "http.disconnect"}, {"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return pending.pop() if len(pending) > 1 else pending[0]
    return receive


def asgi_requests(scope: dict[str, Any], body: bytes, n: int) -> list[tuple[dict[str, Any], Callable[[], Any]]]:
    """n fresh (scope, receive) pairs: apps write into their scope, and each body is read once."""
    return [({**scope, "state": {}}, _receiver(body)) for _ in range(n)]


async def _discard(message: dict[str, Any]) -> None:
    pass


def asgi_call(app: Callable[..., Any], scope: dict[str, Any], body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """One request through an ASGI app: (status code, headers with lower-case names, body bytes)."""
    seen: dict[str, Any] = {"body": []}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            seen["status"] = message["status"]
            seen["headers"] = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            seen["body"].append(message.get("body", b""))

    ((s, receive),) = asgi_requests(scope, body, 1)
    asyncio.run(app(s, receive, send))
    return seen["status"], seen["headers"], b"".join(seen["body"])


def time_asgi_batch(app: Callable[..., Any], requests: list[tuple[dict[str, Any], Callable[[], Any]]], n: int) -> float:
    """Microseconds per request over a batch of ASGI calls awaited one after another inside ONE
    running event loop (one `asyncio.run` per batch), the clock inside it: the loop's start-up
    and shut-down are not counted, the app's fastest in-process form."""
    send = _discard

    async def batch() -> float:
        t0 = time.perf_counter()
        for scope, receive in requests:
            await app(scope, receive, send)
        return (time.perf_counter() - t0) / n * 1e6

    gc.collect()
    return asyncio.run(batch())


def median(values: list[float]) -> float:
    return statistics.median(values)


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table, columns padded so it also reads well in a terminal."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def fmt_us(us: float) -> str:
    return f"{us:.1f}" if us < 100 else f"{us:.0f}"
