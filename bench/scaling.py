"""Route-table scaling: 10 to 10,000 routes `/api/r{i}/items/[id]` plus the workloads.

Two figures per size:
- the request time for the route registered last and for a 404, with every
  app built for production (nextapi imports all files up front), measured
  interleaved across sizes and frameworks like the in-process section;
- the time to build the app, each in a fresh interpreter: nextapi from a
  generated tree of that many files in a temp dir, in dev mode (lazy import,
  the issue's target) and in production mode (imports every file); the peers
  register the same routes in code, so theirs is the cost of their own build.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

from common import APPS, LABELS, call, environs, fmt_us, median, table, template, time_batch

SIZES = (10, 100, 1000, 10000)
PEERS = ("nextapi", "falcon", "bottle", "flask")
# Falcon's and Bottle's route registration is quadratic: 10,000 routes took them
# 80 s and 140 s to build here, more than the whole run may take. The peers
# stop at this size unless BENCH_PEER_MAX_ROUTES says otherwise.
PEER_MAX = int(os.environ.get("BENCH_PEER_MAX_ROUTES", "1000"))
MISS = "/api/missing/items/7"

ITEM_SOURCE = '''def get(req, res):
    return {{"route": {n}, "id": req.query["id"]}}
'''


def generate(base: str, n: int) -> str:
    """Write pages/api/r{i}/items/[id].py for i < n, plus the files of workloads A-D; return pages.

    (Not the typed route of workload Ct: the route table is measured as before it existed.)
    """
    pages = os.path.join(base, "pages")
    shutil.copytree(os.path.join(APPS, "pages"), pages,
                    ignore=shutil.ignore_patterns("__pycache__", "typed.py"))
    api = os.path.join(pages, "api")
    for i in range(n):
        folder = os.path.join(api, f"r{i}", "items")
        os.makedirs(folder)
        with open(os.path.join(folder, "[id].py"), "w", encoding="utf-8") as f:
            f.write(ITEM_SOURCE.format(n=i))
    return pages


def make(name: str, n: int, pages: str | None = None, dev: bool = False) -> Any:
    if name == "nextapi":
        from nextapi_app import make_app
        return make_app(pages, dev=dev)
    module = __import__(f"{name}_app")
    return module.make_app(n)


def last_path(n: int) -> str:
    return f"/api/r{n - 1}/items/7"


def _build_once(name: str, n: int, pages: str, dev: bool) -> float:
    """Build time in a fresh interpreter: imports happen before the clock starts."""
    code = (
        "import sys, time, json; sys.path[:0] = [%r]; import common, scaling; "
        "import nextapi_app; scaling.make(%r, 0) if %r != 'nextapi' else None; "
        "t = time.perf_counter(); app = scaling.make(%r, %d, %r, %r); "
        "print(json.dumps(time.perf_counter() - t))"
    ) % (os.path.dirname(os.path.abspath(__file__)), name, name, name, n, pages, dev)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    if out.returncode:
        sys.exit(f"bench: building {name} with {n} routes failed:\n{out.stderr}")
    return float(out.stdout.strip().splitlines()[-1])


def measure(sizes: tuple[int, ...] = SIZES, reps: int = 11, batch: int = 500, build_reps: int = 3) -> dict[str, Any]:
    tmp = tempfile.mkdtemp(prefix="nextapi-bench-")
    try:
        trees, gen = {}, {}
        for n in sizes:
            t = time.perf_counter()
            trees[n] = generate(os.path.join(tmp, str(n)), n)
            gen[n] = time.perf_counter() - t

        build: dict[tuple[str, int], float] = {}
        for n in sizes:
            kinds = [("nextapi dev", "nextapi", True), ("nextapi prod", "nextapi", False),
                     *((p, p, False) for p in PEERS[1:] if n <= PEER_MAX)]
            for label, name, dev in kinds:
                reps_here = 1 if label == "nextapi prod" else build_reps
                build[(label, n)] = median([_build_once(name, n, trees[n], dev) for _ in range(reps_here)])

        apps = {(name, n): make(name, n, trees[n]) for n in sizes for name in PEERS
                if name == "nextapi" or n <= PEER_MAX}
        checks = {}
        for (name, n), app in apps.items():  # every app answers both lookups the same way
            status, _, body = call(app, template("GET", last_path(n)))
            miss, _, _ = call(app, template("GET", MISS))
            checks[(name, n)] = (status, body, miss)
            if status != 200 or miss != 404 or body != json.dumps(
                    {"route": n - 1, "id": "7"}, separators=(",", ":")).encode():
                sys.exit(f"bench: {name} with {n} routes answers {status} {body!r} / {miss}")

        samples: dict[tuple[str, int, str], list[float]] = {}
        keys = list(apps)
        for rep in range(reps + 1):
            shift = rep % len(keys)
            for name, n in keys[shift:] + keys[:shift]:
                for kind, path in (("last", last_path(n)), ("404", MISS)):
                    us = time_batch(apps[(name, n)], environs(template("GET", path), b"", batch), batch)
                    if rep:
                        samples.setdefault((name, n, kind), []).append(us)
        return {"sizes": list(sizes), "lookup_us": {k: median(v) for k, v in samples.items()},
                "build_s": build, "generate_s": gen, "reps": reps, "batch": batch, "peer_max": PEER_MAX}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def render(result: dict[str, Any]) -> str:
    sizes = result["sizes"]
    look = result["lookup_us"]
    headers = ["routes", *(f"{LABELS[p]} last / 404 µs" for p in PEERS)]
    rows = []
    for n in sizes:
        rows.append([f"{n:,}", *(f"{fmt_us(look[(p, n, 'last')])} / {fmt_us(look[(p, n, '404')])}"
                                 if (p, n, "last") in look else "not run" for p in PEERS)])
    first = sizes[0]
    for p_last in sorted({max(n for n in sizes if (p, n, "last") in look) for p in PEERS}, reverse=True):
        if p_last == first:
            continue
        rows.append([f"{p_last:,} vs {first:,}", *(
            f"{look[(p, p_last, 'last')] / look[(p, first, 'last')]:.2f}× / "
            f"{look[(p, p_last, '404')] / look[(p, first, '404')]:.2f}×"
            if (p, p_last, "last") in look else "" for p in PEERS)])
    text = "Request time for the route registered last (`GET /api/r{n-1}/items/7`) and a 404 (`GET " + MISS + "`), production builds:\n\n" + table(headers, rows)
    b = result["build_s"]
    labels = ["nextapi dev", "nextapi prod", *PEERS[1:]]
    bh = ["routes", "nextapi dev (lazy) s", "nextapi prod (imports all) s",
          *(f"{LABELS[p]} (routes in code) s" for p in PEERS[1:])]
    brows = [[f"{n:,}", *(f"{b[(lab, n)]:.3f}" if (lab, n) in b else "not run" for lab in labels)] for n in sizes]
    text += "\n\nTime to build the app, each in a fresh interpreter (nextapi from a generated tree of " \
            "that many files plus the 3 workload files):\n\n" + table(bh, brows)
    text += (f"\n\nLookups: median of {result['reps']} interleaved repetitions of {result['batch']} requests. "
             "Builds: median of 3 (nextapi prod: 1).")
    if result["peer_max"] < sizes[-1]:
        text += (f" The peers stop at {result['peer_max']:,} routes: registering 10,000 routes is quadratic "
                 "in Falcon and Bottle (minutes on this machine); set BENCH_PEER_MAX_ROUTES=10000 to run them.")
    return text


if __name__ == "__main__":
    print(render(measure()))
