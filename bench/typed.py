"""Typed C: nextapi's typed routes against FastAPI (pydantic v2), in-process and over HTTP.

Workload Ct posts a three-field item (benchdata.TYPED: `name` 1..100 characters,
`price` >= 0, `quantity` 1..1000) to POST /api/typed, where each framework
validates it into its declared type and echoes it back through its declared
return type: nextapi a `@dataclass` body and return annotation
(bench/apps/typeditem.py, pages/api/typed.py, and `async def` in
pages_async/api/typed.py), FastAPI a pydantic model as body and
`response_model` (bench/apps/fastapi_app.py). Workload Cu posts the same bytes
to the untyped C route (/api/echo), so "typed / untyped" compares like with like.

- In-process: the WSGI apps are called directly as in inprocess.py; FastAPI is
  driven through its ASGI interface with no server: a fresh scope and receive
  per request (built before the clock), each batch awaited request after
  request inside one running event loop (one `asyncio.run` per batch, the
  clock inside it), its fastest in-process form. Interleaved and rotated like
  the other sections; medians.
- Over HTTP: nextapi under `gunicorn -w 1` (sync worker) against FastAPI under
  uvicorn (one process, HTTP/1.1), same load generator as httpbench.py.

Before any timing every contender must answer Ct (and Cu) with the same status
and body bytes, and refuse each of benchdata.TYPED_INVALID with a 422.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpbench
from benchdata import TYPED_BODY, TYPED_INVALID
from common import (
    TYPED_WORKLOADS,
    Workload,
    asgi_call,
    asgi_requests,
    asgi_scope,
    call,
    environs,
    fmt_us,
    load_app,
    median,
    table,
    template,
    time_asgi_batch,
    time_batch,
)

CT, CU = TYPED_WORKLOADS
CT_SYNC = dataclasses.replace(CT, path="/api/typed-sync")  # FastAPI's plain `def` endpoint


@dataclasses.dataclass(frozen=True)
class Contender:
    key: str  # (key, workload key) names a sample
    label: str
    app: str  # the module in common.MODULES
    asgi: bool
    ct: Workload | None  # its typed route, None: none
    cu: Workload | None  # its untyped route for the same body


CONTENDERS = (
    Contender("bare", "bare WSGI", "bare", False, None, CU),
    Contender("nextapi", "nextapi", "nextapi", False, CT, CU),
    Contender("nextapi_async", "nextapi async def", "nextapi_async", False, CT, CU),
    Contender("fastapi", "FastAPI async def", "fastapi", True, CT, CU),
    Contender("fastapi_sync", "FastAPI def (thread pool)", "fastapi", True, CT_SYNC, None),
)


def require_fastapi() -> None:
    missing = [m for m in ("fastapi", "pydantic", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        sys.exit(f"bench: {', '.join(missing)} not installed: {sys.executable} -m pip install -r "
                 "bench/requirements.txt (or run make bench), or skip this section with --skip typed")


def uvicorn_impl() -> str:
    """What uvicorn's `auto` picks here: its HTTP parser and event loop."""
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"{http} parser, {loop} loop"


# -- in-process ---------------------------------------------------------------------------------------
def _runner(c: Contender, app: Any, w: Workload, batch: int) -> Callable[[], float]:
    if c.asgi:
        scope = asgi_scope(w.method, w.path, w.query, w.body)
        return lambda: time_asgi_batch(app, asgi_requests(scope, w.body, batch), batch)
    tmpl = template(w.method, w.path, w.query, w.body)
    return lambda: time_batch(app, environs(tmpl, w.body, batch), batch)


def _answer(c: Contender, app: Any, w: Workload, body: bytes) -> tuple[int, dict[str, str], bytes]:
    if c.asgi:
        return asgi_call(app, asgi_scope(w.method, w.path, w.query, body), body)
    return call(app, template(w.method, w.path, w.query, body), body)


def check(apps: dict[str, Any]) -> None:
    """Same status and bytes for Ct and Cu everywhere (the body posted, compact); 422 for each bad body."""
    for c in CONTENDERS:
        for w in (c.ct, c.cu):
            if w is None:
                continue
            status, headers, body = _answer(c, apps[c.app], w, w.body)
            if status != 200 or body != TYPED_BODY:
                sys.exit(f"bench: {c.label} answers POST {w.path} with {status} {body[:80]!r}, "
                         f"not 200 {TYPED_BODY!r}: the workloads must be identical")
            if headers.get("content-type", "").split(";")[0] != "application/json":
                sys.exit(f"bench: {c.label} answers POST {w.path} with Content-Type {headers.get('content-type')!r}")
        if c.ct is not None:
            for bad in TYPED_INVALID:
                status, _, body = _answer(c, apps[c.app], c.ct, bad)
                if status != 422:
                    sys.exit(f"bench: {c.label} answers POST {c.ct.path} {bad!r} with {status} {body[:80]!r}, not 422")


def measure(reps: int = 21, batch: int = 1000) -> dict[str, Any]:
    require_fastapi()
    apps = {name: load_app(name) for name in {c.app for c in CONTENDERS}}
    check(apps)
    runs = [(c, w, _runner(c, apps[c.app], w, batch)) for c in CONTENDERS for w in (c.ct, c.cu) if w is not None]
    samples: dict[tuple[str, str], list[float]] = {}
    for rep in range(reps + 1):  # repetition 0 is a warm-up, not kept
        shift = rep % len(runs)
        for c, w, run in runs[shift:] + runs[:shift]:
            us = run()
            if rep:
                samples.setdefault((c.key, "Ct" if w is c.ct else "Cu"), []).append(us)
    return {"median_us": {k: median(v) for k, v in samples.items()}, "reps": reps, "batch": batch}


def ratios(result: dict[str, Any]) -> dict[str, float]:
    med = result["median_us"]
    return {
        "typed_vs_untyped": med[("nextapi", "Ct")] / med[("nextapi", "Cu")],
        "async_typed_vs_untyped": med[("nextapi_async", "Ct")] / med[("nextapi_async", "Cu")],
        "async_vs_sync_typed": med[("nextapi_async", "Ct")] / med[("nextapi", "Ct")],
        "fastapi_vs_nextapi": med[("fastapi", "Ct")] / med[("nextapi", "Ct")],
        "fastapi_vs_nextapi_async": med[("fastapi", "Ct")] / med[("nextapi_async", "Ct")],
        "fastapi_sync_vs_async": med[("fastapi_sync", "Ct")] / med[("fastapi", "Ct")],
        "fastapi_typed_vs_untyped": med[("fastapi", "Ct")] / med[("fastapi", "Cu")],
    }


def render(result: dict[str, Any]) -> str:
    med = result["median_us"]
    nx_ct = med[("nextapi", "Ct")]
    rows = []
    for c in CONTENDERS:
        ct, cu = med.get((c.key, "Ct")), med.get((c.key, "Cu"))
        rows.append([c.label,
                     f"{fmt_us(cu)}" if cu is not None else "–",
                     f"{fmt_us(ct)}" + (f" ({ct / nx_ct:.2f}×)" if c.key != "nextapi" else "") if ct is not None else "–",
                     f"{ct / cu:.2f}×" if ct is not None and cu is not None else "–"])
    r = ratios(result)
    text = table(["framework", f"Cu untyped {CU.path} µs", f"Ct typed {CT.path} µs (× nextapi)", "typed / untyped"], rows)
    text += (
        f"\n\nThe body: `{TYPED_BODY.decode()}` ({len(TYPED_BODY)} B), into `name: str` (1..100 characters), "
        "`price: float` (>= 0), `quantity: int` (1..1000), echoed back: nextapi a `@dataclass` with "
        "`Annotated[..., Field(...)]` fields, as body and return annotation; FastAPI a pydantic model with the "
        "same constraints, as body and `response_model`. Every contender sends the same 200 and body bytes "
        "(checked first: no handler output needed changing, FastAPI's JSON is compact as nextapi's) and "
        f"refuses {len(TYPED_INVALID)} bodies that each break one constraint with a 422.\n"
        "FastAPI is driven through its ASGI interface without a server: a fresh scope and `receive` per "
        "request, each batch awaited request after request inside one running event loop (one `asyncio.run` "
        "per batch, the clock inside it), so no loop start-up is paid per request: its fastest in-process form. "
        "Its docs routes are off, so its router holds only the bench routes. The WSGI apps are called as in the "
        "in-process section.\n"
        f"FastAPI async def typed / nextapi typed: {r['fastapi_vs_nextapi']:.2f}× "
        f"(/ nextapi async def typed: {r['fastapi_vs_nextapi_async']:.2f}×); FastAPI's plain `def` endpoint, run "
        f"in its thread pool, costs {r['fastapi_sync_vs_async']:.2f}× its `async def`. nextapi async def typed / "
        f"sync typed: {r['async_vs_sync_typed']:.2f}× (+{med[('nextapi_async', 'Ct')] - nx_ct:.2f} µs).\n"
        f"Median of {result['reps']} interleaved repetitions (order rotated each repetition) of "
        f"{result['batch']} requests each."
    )
    return text


# -- over HTTP ----------------------------------------------------------------------------------------
# (label, server, module, workload): nextapi under gunicorn -w 1, FastAPI under uvicorn, one process each.
SERVERS = (
    ("nextapi", "gunicorn", "nextapi", CT),
    ("nextapi untyped", "gunicorn", "nextapi", CU),
    ("nextapi async def", "gunicorn", "nextapi_async", CT),
    ("FastAPI async def", "uvicorn", "fastapi", CT),
    ("FastAPI untyped", "uvicorn", "fastapi", CU),
)


def measure_http(seconds: int = 1, rounds: int = 5) -> dict[str, Any]:
    require_fastapi()
    driver = "wrk" if shutil.which("wrk") else "python"
    drive = httpbench.wrk_rps if driver == "wrk" else httpbench.python_rps
    samples: dict[str, list[float]] = {}
    procs: dict[tuple[str, str], tuple[subprocess.Popen, int]] = {}
    with httpbench.server_workdir("nextapi-bench-typed-", "servers.log") as (workdir, log):
        try:
            for _, server, module, w in SERVERS:
                if (server, module) not in procs:
                    procs[(server, module)] = httpbench.start(module, 1, log, server=server, ready=w)
            for label, server, module, w in SERVERS:  # the same bytes over the wire too
                port = procs[(server, module)][1]
                status, body = httpbench.fetch(port, w)
                if status != 200 or body != TYPED_BODY:
                    raise RuntimeError(f"{label} over HTTP: {w.label} -> {status} {body[:80]!r}")
                if w is CT and httpbench.fetch(port, dataclasses.replace(w, body=TYPED_INVALID[0]))[0] != 422:
                    raise RuntimeError(f"{label} over HTTP: an empty name is not a 422")
            for _, port in procs.values():
                drive(port, CT, 1, workdir)  # warm-up
            for rnd in range(rounds):
                shift = rnd % len(SERVERS)
                for label, server, module, w in SERVERS[shift:] + SERVERS[:shift]:
                    samples.setdefault(label, []).append(drive(procs[(server, module)][1], w, seconds, workdir))
        finally:
            for proc, _ in procs.values():
                httpbench.stop(proc)
    return {"rps": {k: median(v) for k, v in samples.items()}, "driver": driver, "seconds": seconds,
            "rounds": rounds, "connections": httpbench.CONNECTIONS, "uvicorn": uvicorn_impl()}


def render_http(result: dict[str, Any]) -> str:
    rps = result["rps"]
    ref = rps["nextapi"]
    rows = []
    for label, server, _, w in SERVERS:
        where = "gunicorn -w 1 (sync worker)" if server == "gunicorn" else f"uvicorn, 1 process ({result['uvicorn']})"
        r = rps[label]
        rows.append([label, where, f"{w.key} {w.method} {w.path}", f"{r:,.0f}" + ("" if label == "nextapi" else f" ({r / ref:.2f}×)")])
    text = table(["app", "server", "workload", "req/s (× nextapi typed)"], rows)
    if result["driver"] == "wrk":
        driver = (f"wrk, 1 thread, {result['connections']} connections. wrk keeps its connections alive: uvicorn "
                  "serves them, gunicorn's sync worker closes each after one response, so the servers' "
                  "connection handling is part of the difference")
    else:
        driver = (f"the Python load generator ({result['connections']} processes, a new connection per request; "
                  "wrk was not found)")
    text += (f"\n\nSame body bytes over the wire from every server (checked first, and a 422 for a bad body). "
             f"Driven by {driver}; {result['seconds']} s per run after a 1 s warm-up per server; each figure is "
             f"the median of {result['rounds']} runs, interleaved (order rotated each round). Client and servers "
             "share the machine's cores.")
    return text


if __name__ == "__main__":
    print(render(measure()))
    print()
    print(render_http(measure_http()))
