"""Instructions per request, counted by valgrind's callgrind (CPU instructions retired, `Ir`).

Unlike wall-clock time this barely moves with the machine's load, so small changes to
nextapi show up run after run. Method: requests 200 to 1,200 subtracted, so start-up
cancels out. Each (app, workload) runs in its own callgrind process (`--dump-before=getppid`),
driven by this file's `--child` mode, which builds 1,200 fresh environs (the
template's copy plus a new `io.BytesIO` body each), runs the first 200 requests (warm-up),
calls `os.getppid()` (libc's getppid: callgrind dumps its counters there and zeroes
them), runs the other 1,000, calls `os.getppid()` again. The dump between the two markers
holds exactly those 1,000 requests: every request is `app(environ, start_response)`, the
body iterated and closed, as in the in-process section; the environs were built before
the first marker, so only the app's work (and a small, constant loop) is counted. The
`empty` row is that harness with a WSGI app that does nothing. FastAPI is driven through
its ASGI interface inside one running event loop (common.time_asgi_batch's shape), its
scopes and `receive`s built before the first marker. `PYTHONHASHSEED=0`, so two runs
count the same: exactly for the sync apps, within ~0.2% for nextapi_async (a worker thread).

    python bench/instructions.py                          # every app, every workload
    python bench/instructions.py --apps nextapi           # nextapi only (~20 s); ratios to the
                                                          # peers' last counts (cached)
    python bench/instructions.py --apps nextapi,falcon --workloads A,D
    python bench/instructions.py --profile A              # nextapi's top functions on A (C level)
    python bench/instructions.py --apps nextapi --nextapi ../other-worktree   # another checkout's nextapi

Python-level attribution: callgrind sees only C functions (_PyEval_EvalFrameDefault and what it
calls). CPython 3.12+'s `-X perf` trampolines name Python functions for Linux `perf` only, not
for valgrind, and this venv's Python is 3.11; bench/profile_hot.py (cProfile) gives the Python
view, with its own overhead.

Run it with bench/.venv/bin/python (the peers are installed there by `make bench`).
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import json
import mmap
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import common
from common import ASGI, FRAMEWORKS, LABELS, TYPED_WORKLOADS, VARIANTS, WORKLOADS, table

WARM, COUNTED = 200, 1000
MARKER = "getppid"  # os.getppid() calls libc's getppid; nothing else in these apps does
ALL_WORKLOADS = {w.key: w for w in WORKLOADS + TYPED_WORKLOADS}
ABCD = tuple(w.key for w in WORKLOADS)
# What each app is counted on: A-D everywhere WSGI; the typed pair Ct (the typed route) and
# Cu (the same bytes through the untyped echo) where they make sense.
APP_WORKLOADS: dict[str, tuple[str, ...]] = {
    "empty": ("A",),
    "bare": ABCD + ("Cu",),
    "nextapi": ABCD + ("Ct", "Cu"),
    "falcon": ABCD + ("Cu",),
    "bottle": ABCD,
    "flask": ABCD,
    "nextapi_async": ABCD + ("Ct", "Cu"),
    "nextapi_batteries": ABCD,
    "fastapi": ("Ct", "Cu"),
}
APPS = ("empty",) + FRAMEWORKS + VARIANTS + ASGI
LABELS = {**LABELS, "empty": "empty (harness)"}
CACHE = os.path.join(tempfile.gettempdir(), "nextapi-bench-instructions.json")


# Valgrind's client requests, from Python: on x86-64 a few bytes of machine code (valgrind.h's
# "special instruction" sequence, a no-op when not under valgrind) called through ctypes. Used
# only to switch callgrind's instrumentation on and off (`--instr-atstart=no`): start-up and
# warm-up then run at valgrind's uninstrumented speed, several times faster. The counts are the
# same either way; elsewhere the instrumentation simply stays on throughout.
FAST = platform.machine() in ("x86_64", "AMD64")
_CT = (ord("C") << 24) | (ord("T") << 16)  # VG_USERREQ_TOOL_BASE('C', 'T'): callgrind's requests
START_INSTRUMENTATION, STOP_INSTRUMENTATION = _CT + 4, _CT + 5
_request: Any = None


def client_request(code: int) -> int:
    global _request
    if not FAST:
        return 0
    if _request is None:
        machine = bytes.fromhex(
            "4889f8"  # mov rax, rdi: the request block
            "31d2"  # xor edx, edx: the answer when not under valgrind
            "48c1c703" "48c1c70d" "48c1c73d" "48c1c733"  # rol rdi by 3, 13, 61, 51: the preamble
            "4887db"  # xchg rbx, rbx: rdx = the request's answer
            "4889d0"  # mov rax, rdx
            "c3")  # ret
        page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        page.write(machine)
        fn = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p)(ctypes.addressof(ctypes.c_char.from_buffer(page)))
        _request = (page, fn)
    block = (ctypes.c_uint64 * 6)(code, 0, 0, 0, 0, 0)
    return int(_request[1](ctypes.addressof(block)))


def available() -> str | None:
    """None when callgrind can run here, else the reason it cannot."""
    if not shutil.which("valgrind"):
        return "valgrind not found (apt-get install valgrind; `make bench` does when root)"
    return None


# -- the child: runs under callgrind ------------------------------------------------------------------


def _empty(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [])
    return [b""]


def child(name: str, keys: list[str]) -> None:
    work = [ALL_WORKLOADS[k] for k in keys]
    other = os.environ.get("BENCH_NEXTAPI_PATH")
    if other:  # --nextapi: another checkout's nextapi package (nothing has imported it yet)
        sys.path.insert(0, other)
    if name == "fastapi":
        import asyncio
        app = common.load_app(name)
        for w in work:  # answers checked before anything is counted
            status, _, _ = common.asgi_call(app, common.asgi_scope(w.method, w.path, w.query, w.body), w.body)
            if status != w.status:
                sys.exit(f"{name} answers {w.label} with {status}")
        send = common._discard

        async def run() -> None:
            for w in work:
                scope = common.asgi_scope(w.method, w.path, w.query, w.body)
                warm = common.asgi_requests(scope, w.body, WARM)
                counted = common.asgi_requests(scope, w.body, COUNTED)
                for s, receive in warm:
                    await app(s, receive, send)
                gc.collect()
                client_request(START_INSTRUMENTATION)
                os.getppid()
                for s, receive in counted:
                    await app(s, receive, send)
                os.getppid()
                client_request(STOP_INSTRUMENTATION)
        asyncio.run(run())
        return
    app = _empty if name == "empty" else common.load_app(name)
    for w in work:
        tmpl = common.template(w.method, w.path, w.query, w.body)
        if name != "empty":
            status, _, _ = common.call(app, tmpl, w.body)
            if status != w.status:
                sys.exit(f"{name} answers {w.label} with {status}")
        warm = common.environs(tmpl, w.body, WARM)
        counted = common.environs(tmpl, w.body, COUNTED)
        common.drive_wsgi(app, warm)
        gc.collect()
        client_request(START_INSTRUMENTATION)
        os.getppid()
        common.drive_wsgi(app, counted)
        os.getppid()
        client_request(STOP_INSTRUMENTATION)


# -- the parent ---------------------------------------------------------------------------------------
def _total(path: str) -> int:
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    m = re.search(r"^(?:summary|totals):\s*(\d+)", text, re.M)
    if not m:
        raise RuntimeError(f"no summary line in {path}")
    return int(m.group(1))


def count(name: str, keys: list[str], keep: str | None = None, nextapi: str | None = None) -> dict[str, float]:
    """One callgrind run of `name` over `keys`: instructions per request for each.

    With `keep` (a directory), the dump files stay there; the counted dump of keys[i] is
    `cg.out.{2 * i + 2}`.
    """
    workdir = keep or tempfile.mkdtemp(prefix="nextapi-bench-cg-")
    out = os.path.join(workdir, "cg.out")
    cmd = ["valgrind", "--tool=callgrind", f"--dump-before={MARKER}", f"--callgrind-out-file={out}",
           f"--instr-atstart={'no' if FAST else 'yes'}",
           sys.executable, os.path.abspath(__file__), "--child", name, "--workloads", ",".join(keys)]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED")}
    env["PYTHONHASHSEED"] = "0"
    if nextapi:
        env["BENCH_NEXTAPI_PATH"] = nextapi
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
        if proc.returncode:
            tail = "\n".join(proc.stderr.splitlines()[-15:])
            raise RuntimeError(f"callgrind run of {name} failed ({proc.returncode}):\n{tail}")
        dumps = sorted((int(f.rsplit(".", 1)[1]) for f in os.listdir(workdir) if re.fullmatch(r"cg\.out\.\d+", f)))
        if dumps != list(range(1, 2 * len(keys) + 1)):
            raise RuntimeError(f"{name}: expected {2 * len(keys)} dumps (two markers per workload), got {len(dumps)}: "
                               f"something else called {MARKER}")
        per = {k: _total(os.path.join(workdir, f"cg.out.{2 * i + 2}")) / COUNTED for i, k in enumerate(keys)}
        if min(per.values()) < 100:
            raise RuntimeError(f"{name}: next to nothing counted {per}: callgrind's instrumentation never switched on?")
        return per
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


def measure(apps: tuple[str, ...] = APPS, keys: tuple[str, ...] | None = None, jobs: int = 0,
            quiet: bool = False, nextapi: str | None = None, repeat: int = 1) -> dict[str, Any]:
    """Counts for each app and workload: {(app, key): instructions per request}.

    Each (app, workload) is its own callgrind process (`jobs` at a time), so a workload's count
    is the same whichever others are run with it.
    """
    plan = [(a, k) for a in apps for k in APP_WORKLOADS[a] if keys is None or k in keys] * repeat
    runs: dict[tuple[str, str], list[float]] = {}
    jobs = jobs or os.cpu_count() or 1
    counts: dict[tuple[str, str], float] = {}
    errors: dict[str, str] = {}
    t0 = time.monotonic()
    # The slowest first, so the pool finishes together.
    order = sorted(plan, key=lambda p: -{"flask": 8, "fastapi": 6, "bottle": 4}.get(p[0], 1))

    def one(item: tuple[str, str]) -> None:
        a, k = item
        t = time.monotonic()
        try:
            v = count(a, [k], nextapi=nextapi if a.startswith("nextapi") else None)[k]
            runs.setdefault((a, k), []).append(v)
            counts[(a, k)] = min(runs[(a, k)])
            if not quiet:
                print(f"  {a} {k}: {v / 1000:.2f} k ({time.monotonic() - t:.0f} s)", file=sys.stderr, flush=True)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            errors[f"{a} {k}"] = str(e)
            print(f"bench: instructions: {e}", file=sys.stderr, flush=True)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, order))
    spread = max((max(v) / min(v) - 1 for v in runs.values() if len(v) > 1), default=None)
    return {"counts": counts, "apps": [a for a in apps if any((a, k) in counts for k in ALL_WORKLOADS)],
            "errors": errors, "seconds": time.monotonic() - t0, "python": sys.executable,
            "nextapi": nextapi, "repeat": repeat, "spread": spread}


def _load_cache() -> dict[str, Any]:
    try:
        with open(CACHE, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def save_cache(result: dict[str, Any]) -> None:
    """Remember every count of this run (per Python), so a nextapi-only run has its peers to compare with."""
    cache = _load_cache()
    mine = cache.setdefault(result["python"], {})
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime())
    for (a, k), v in result["counts"].items():
        mine[f"{a}/{k}"] = [v, when]
    try:
        with open(CACHE, "w", encoding="utf-8") as f:
            json.dump(cache, f)
    except OSError:
        pass


def with_cached_peers(result: dict[str, Any]) -> dict[str, Any]:
    """Fill the reference columns (bare, Falcon) from the cache when this run did not count them."""
    mine = _load_cache().get(result["python"], {})
    counts = dict(result["counts"])
    cached: set[str] = set()
    keys = {k for _, k in counts}
    for ref in ("bare", "falcon"):
        if ref in result["apps"]:
            continue
        for k in keys:
            hit = mine.get(f"{ref}/{k}")
            if hit:
                counts[(ref, k)] = hit[0]
                cached.add(f"{LABELS[ref]} ({hit[1]})")
    return {**result, "counts": counts, "cached": sorted(cached)}


def _k(v: float) -> str:
    return f"{v / 1000:.1f}" if v < 100_000 else f"{v / 1000:.0f}"


def render(result: dict[str, Any]) -> str:
    counts, apps = result["counts"], result["apps"]
    keys = [k for k in ALL_WORKLOADS if any((a, k) in counts for a in apps)]
    cols = [a for a in apps if a != "empty"]
    rows = []
    for k in keys:
        bare, falcon = counts.get(("bare", k)), counts.get(("falcon", k))
        cells = [f"{k} {ALL_WORKLOADS[k].label}"]
        for a in cols:
            v = counts.get((a, k))
            if v is None:
                cells.append("–")
                continue
            ratios = []
            if bare and a != "bare":
                ratios.append(f"{v / bare:.2f}× bare")
            if falcon and a != "falcon":
                ratios.append(f"{v / falcon:.2f}× Falcon")
            cells.append(_k(v) + (f" ({', '.join(ratios)})" if ratios else ""))
        rows.append(cells)
    text = table(["workload", *(f"{LABELS[a]} k" for a in cols)], rows)
    if ("empty", "A") in counts:
        text += (f"\n\nThousands of instructions per request (callgrind `Ir`). The harness alone (a WSGI app "
                 f"that does nothing, driven the same way) is {counts[('empty', 'A')] / 1000:.2f} k per request "
                 "and is inside every WSGI figure.")
    ct = {a: counts[(a, "Ct")] for a in apps if (a, "Ct") in counts}
    if "nextapi" in ct and len(ct) > 1:
        text += ("\nTyped Ct against nextapi's: "
                 + ", ".join(f"{LABELS[a]} {v / ct['nextapi']:.2f}×" for a, v in ct.items() if a != "nextapi") + ".")
    if result.get("cached"):
        text += "\nReference counts not run this time, from the cache of an earlier run: " + ", ".join(result["cached"]) + "."
    if result.get("nextapi"):
        text += f"\nnextapi from {result['nextapi']} (--nextapi), not this checkout."
    if result.get("spread") is not None:
        text += (f"\nEach count run {result['repeat']} times (the lowest shown): the runs of a workload differ "
                 f"by {100 * result['spread']:.3f}% at most.")
    t = targets(counts)
    if t:
        text += "\n\n" + table(["target (instructions per request)", "this run", ""], t)
    n = sum(1 for a, _ in counts if a in apps)
    text += ("\n\nMethod: requests 200 to 1,200 subtracted, so start-up cancels out: each app and workload in its "
             "own `valgrind --tool=callgrind --dump-before=getppid` process (bench/instructions.py): 200 warm-up "
             "requests, `os.getppid()` as a marker, 1,000 counted requests, the marker again; the dump between the "
             "markers divided by 1,000. All 1,200 environs (a copy of the template and a fresh `io.BytesIO` body "
             "each; for FastAPI the ASGI scopes and `receive`s, awaited one after another in one running event "
             "loop) are built before the first marker, so the counts are the app's, not the driver's. "
             "`PYTHONHASHSEED=0`: a rerun counts the same (exactly, for the sync apps; the `async def` variant, whose "
             f"handlers run on a worker thread, within ~0.2%). {n} counts in {result['seconds']:.0f} s.")
    if result.get("errors"):
        text += "\nNot counted (failed): " + "; ".join(f"{k}: {v.splitlines()[0]}" for k, v in result["errors"].items()) + "."
    return text


def targets(counts: dict[tuple[str, str], float]) -> list[list[str]]:
    rows = []
    for k in ("A", "B", "C"):
        nx, fa = counts.get(("nextapi", k)), counts.get(("falcon", k))
        if nx and fa:
            rows.append([f"{k}: nextapi ≤ 0.8× Falcon", f"{nx / fa:.2f}×", "met" if nx <= 0.8 * fa else "**missed**"])
    nx, bare = counts.get(("nextapi", "D")), counts.get(("bare", "D"))
    if nx and bare:
        rows.append(["D: nextapi ≤ 1.0× bare", f"{nx / bare:.2f}×", "met" if nx <= bare else "**missed**"])
    return rows


def _short(line: str) -> str:
    """A callgrind_annotate line without the build directory of CPython's sources and the object file."""
    line = re.sub(r"/\S*?/Python-[0-9.]+[a-z0-9]*/(?:\./)?", "", line)
    return re.sub(r" \[[^\]]*\]$", "", line)


def profile(name: str, key: str, top: int = 30, nextapi: str | None = None) -> str:
    """Count `name` on one workload, keep its callgrind file, and list its top functions (C level)."""
    keep = tempfile.mkdtemp(prefix=f"nextapi-cg-{name}-{key}-")
    per = count(name, [key], keep=keep, nextapi=nextapi)[key]
    path = os.path.join(keep, "cg.out.2")
    parts = [f"{LABELS[name]} {key} {ALL_WORKLOADS[key].label}: {per / 1000:.1f} k instructions per request; "
             f"the callgrind file of the 1,000 counted requests: {path}\n"
             f"(callgrind_annotate --inclusive=yes {path} | less, or kcachegrind; "
             "costs below are totals over the 1,000 requests)"]
    for inclusive in (True, False):
        cmd = ["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}", "--threshold=100", path]
        out = subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()
        start = next((i for i, ln in enumerate(out) if re.search(r"file:function", ln)), None)
        if start is None:
            parts.append("\n".join(out[:top + 20]))
            continue
        body = [_short(ln) for ln in out[start + 1:] if ln.strip() and not ln.startswith("-")][:top]
        parts.append(f"-- top {top} by {'inclusive' if inclusive else 'self'} cost --\n" + out[start] + "\n" + "\n".join(body))
    return "\n\n".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--apps", help=f"comma-separated, of {','.join(APPS)} (default: all)")
    ap.add_argument("--workloads", help=f"comma-separated, of {','.join(ALL_WORKLOADS)} (default: each app's own)")
    ap.add_argument("--jobs", type=int, default=0, help="callgrind processes at a time (default: the cores)")
    ap.add_argument("--profile", metavar="WORKLOAD", help="keep the callgrind file of one workload and list the "
                    "top functions (nextapi, or the one app given with --apps)")
    ap.add_argument("--top", type=int, default=30, help="functions listed by --profile")
    ap.add_argument("--nextapi", metavar="DIR", help="count the nextapi package in DIR (a directory holding "
                    "nextapi/, e.g. a `git worktree` of another commit) instead of this checkout's; not cached")
    ap.add_argument("--repeat", type=int, default=1, help="run each count this many times and report the spread")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    keys = args.workloads.split(",") if args.workloads else None
    for k in keys or ():
        if k not in ALL_WORKLOADS:
            ap.error(f"unknown workload {k!r}")
    if args.child:
        child(args.child, keys or list(APP_WORKLOADS[args.child]))
        return
    apps = tuple(args.apps.split(",")) if args.apps else APPS
    for a in apps:
        if a not in APP_WORKLOADS:
            ap.error(f"unknown app {a!r}")
    reason = available()
    if reason:
        sys.exit(f"bench: instructions: skipped: {reason}")
    nextapi = os.path.abspath(args.nextapi) if args.nextapi else None
    if nextapi and not os.path.isfile(os.path.join(nextapi, "nextapi", "__init__.py")):
        ap.error(f"--nextapi {args.nextapi}: no nextapi/__init__.py there")
    if args.profile:
        if args.profile not in ALL_WORKLOADS:
            ap.error(f"unknown workload {args.profile!r}")
        name = apps[0] if args.apps else "nextapi"
        print(profile(name, args.profile, args.top, nextapi))
        return
    result = measure(apps, tuple(keys) if keys else None, args.jobs, nextapi=nextapi, repeat=args.repeat)
    if not nextapi:
        save_cache(result)
    print(render(with_cached_peers(result)))
    if result["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
