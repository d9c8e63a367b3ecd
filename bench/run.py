"""`make bench`: nextapi against a bare WSGI function, Falcon, Bottle and Flask,
and its typed routes against FastAPI (pydantic v2).

Runs the sections in one go (in-process, instructions per request under
callgrind, route-table scaling, over HTTP, typed C in-process and over HTTP
under gunicorn and uvicorn, cold start of a fresh interpreter, and a gunicorn
worker's memory after 10,000 requests), prints the tables, checks the issue's
targets as ratios from this same run, profiles nextapi where a target is
missed, and writes it all to bench/RESULTS.md. `--quick` shortens every section (for trying the harness).
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
import time
from importlib import metadata
from typing import Any

import coldstart
import common
import httpbench
import inprocess
import instructions
import memory
import profile_hot
import scaling
import typed
from common import WORKLOADS


def versions() -> dict[str, str]:
    out = {"Python": platform.python_version() + f" ({platform.python_implementation()})"}
    for dist in ("falcon", "bottle", "flask", "werkzeug", "gunicorn", "fastapi", "pydantic", "starlette", "uvicorn"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    if shutil.which("wrk"):
        first = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.splitlines()
        out["wrk"] = first[0].split(" [")[0].removeprefix("wrk ") if first else "present"
    else:
        out["wrk"] = "not found (Python load generator)"
    if shutil.which("valgrind"):
        out["valgrind"] = subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip().removeprefix("valgrind-")
    else:
        out["valgrind"] = "not found (no instruction counts)"
    import nextapi
    commit = subprocess.run(["git", "-C", common.ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", common.ROOT, "status", "--porcelain", "--", "nextapi"],
                           capture_output=True, text=True).stdout.strip()
    out["nextapi"] = f"{nextapi.__version__} (commit {commit or '?'}{', nextapi/ modified' if dirty else ''})"
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = ""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        mem = f", {pages * size / 2**30:.0f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}, {platform.system()} {platform.release()}"


def load() -> str:
    try:
        return "/".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def targets(inp: dict[str, Any], scale: dict[str, Any] | None, http: dict[str, Any] | None,
            typ: dict[str, Any] | None = None, ins: dict[str, Any] | None = None,
            cold: dict[str, Any] | None = None) -> tuple[str, list[str]]:
    """The issue's targets, each as a ratio from this run; returns text and missed workloads."""
    rows, missed = [], []
    med = inp["median_us"]

    def row(what: str, value: str, ok: bool, key: str | None = None) -> None:
        rows.append([what, value, "met" if ok else "**missed**"])
        if not ok and key and key not in missed:
            missed.append(key)

    for w in WORKLOADS:
        nx, fa, bare = med[("nextapi", w.key)], med[("falcon", w.key)], med[("bare", w.key)]
        row(f"in-process {w.key}: faster than Falcon", f"{nx / fa:.2f}× Falcon's time", nx < fa, w.key)
        row(f"in-process {w.key}: ≤ 2× bare", f"{nx / bare:.2f}× bare", nx <= 2 * bare, w.key)
    if ins:
        for what, value, verdict in instructions.targets(ins["counts"]):
            rows.append([f"instructions {what}", value, verdict])
    if cold:
        over = cold["ms"]["nextapi_seed"] - cold["ms"]["bare"]
        row("cold start, nextapi seed sample: ≤ 40 ms over bare Python", f"{over:.0f} ms", over <= 40)
    if scale:
        look, sizes = scale["lookup_us"], scale["sizes"]
        lo, hi = sizes[0], sizes[-1]
        for kind in ("last", "404"):
            r = look[("nextapi", hi, kind)] / look[("nextapi", lo, kind)]
            row(f"lookup ({'route registered last' if kind == 'last' else '404'}) at {hi:,} vs {lo:,} routes: "
                "within 20%", f"{r:.2f}×", r <= 1.2)
        b = scale["build_s"][("nextapi dev", hi)]
        row(f"build {hi:,} route files (dev mode) < 2 s", f"{b:.2f} s", b < 2.0)
    if typ:
        r = typed.ratios(typ)
        row("in-process Ct: typed ≤ 1.5× untyped C, same body (nextapi)", f"{r['typed_vs_untyped']:.2f}×",
            r["typed_vs_untyped"] <= 1.5, "Ct")
        row("in-process Ct: ≥ 5× faster than FastAPI async def", f"FastAPI {r['fastapi_vs_nextapi']:.2f}× nextapi's time",
            r["fastapi_vs_nextapi"] >= 5, "Ct")
    if http:
        for workers in http["workers"]:
            for w in WORKLOADS:
                r = http["rps"][(workers, "nextapi", w.key)] / http["rps"][(workers, "bare", w.key)]
                row(f"HTTP, {workers} worker{'s' if workers > 1 else ''}, {w.key}: ≥ 90% of bare req/s",
                    f"{100 * r:.0f}%", r >= 0.9)
    return common.table(["target", "this run", ""], rows), missed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="short runs, to try the harness")
    ap.add_argument("--skip", action="append", default=[],
                    choices=["instructions", "scaling", "http", "typed", "coldstart", "memory"])
    ap.add_argument("--results", help="write the report to this Markdown file as well")
    args = ap.parse_args()

    started = time.monotonic()
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load_before = load()
    vers = versions()
    head = [f"Date: {when}", f"Machine: {machine()}",
            "Versions: " + ", ".join(f"{k} {v}" for k, v in vers.items())]
    print("\n".join(head), flush=True)

    sections: list[tuple[str, str]] = []

    def section(title: str, text: str) -> None:
        sections.append((title, text))
        print(f"\n## {title}\n\n{text}", flush=True)

    print("\n(in-process...)", file=sys.stderr, flush=True)
    inp = inprocess.measure(reps=7 if args.quick else 21, batch=500 if args.quick else 1000)
    section("In-process: µs per request (lower is better)", inprocess.render(inp))

    ins = None
    if "instructions" not in args.skip:
        reason = instructions.available()
        if reason:
            print(f"bench: instruction counts skipped: {reason}", file=sys.stderr, flush=True)
            section("Instructions per request (callgrind)", f"Skipped: {reason}.")
        else:
            print("(instructions per request, callgrind...)", file=sys.stderr, flush=True)
            apps = ("empty", "bare", "nextapi", "falcon") if args.quick else instructions.APPS
            ins = instructions.measure(apps)
            instructions.save_cache(ins)
            section("Instructions per request (callgrind, lower is better)", instructions.render(ins))

    scale = None
    if "scaling" not in args.skip:
        print("(route-table scaling...)", file=sys.stderr, flush=True)
        scale = scaling.measure(sizes=(10, 100, 1000) if args.quick else scaling.SIZES,
                                reps=5 if args.quick else 11, build_reps=1 if args.quick else 3)
        section("Route-table scaling", scaling.render(scale))

    http = None
    if "http" not in args.skip:
        print("(over HTTP...)", file=sys.stderr, flush=True)
        http = httpbench.measure(seconds=1, rounds=1 if args.quick else 5)
        section("Over HTTP: requests per second (higher is better)", httpbench.render(http))

    typ = None
    if "typed" not in args.skip:
        print("(typed C, FastAPI...)", file=sys.stderr, flush=True)
        typ = typed.measure(reps=7 if args.quick else 21, batch=500 if args.quick else 1000)
        section("Typed C against FastAPI, in-process: µs per request (lower is better)", typed.render(typ))
        if "http" not in args.skip:
            print("(typed C over HTTP, gunicorn and uvicorn...)", file=sys.stderr, flush=True)
            section("Typed C over HTTP: nextapi under gunicorn, FastAPI under uvicorn (req/s, higher is better)",
                    typed.render_http(typed.measure_http(seconds=1, rounds=1 if args.quick else 5)))

    cold = None
    if "coldstart" not in args.skip:
        print("(cold start...)", file=sys.stderr, flush=True)
        cold = coldstart.measure(runs=3 if args.quick else 10)
        section("Cold start: a fresh interpreter importing the framework and building the app", coldstart.render(cold))

    if "memory" not in args.skip:
        print("(memory of a gunicorn worker...)", file=sys.stderr, flush=True)
        mem = memory.measure(requests=2000 if args.quick else 10_000)
        section(f"Memory: a gunicorn worker after {mem['requests']:,} requests", memory.render(mem))

    text, missed = targets(inp, scale, http, typ, ins, cold)
    section("Targets (ratios from this run)", text)
    if missed:
        profs = "\n\n".join(profile_hot.profile(k, n=5000 if args.quick else 20000) for k in missed)
        section("Where nextapi's time goes (cProfile, in-process, by own time)",
                "Workloads with a missed in-process target. cProfile's own overhead inflates "
                "every call, so read the shares, not the absolute times.\n\n```\n" + profs + "\n```")

    took = time.monotonic() - started
    foot = (f"Load average before/after: {load_before} / {load()}. "
            f"The whole run took {took:.0f} s. Numbers are from a shared machine: compare "
            "ratios within one run, not figures across runs.")
    print("\n" + foot)
    if args.results:
        with open(args.results, "w", encoding="utf-8") as f:
            f.write("# Benchmark results\n\nThe latest `make bench` run (written by `bench/run.py`).\n\n")
            f.write("  \n".join(head) + "\n")
            for title, body in sections:
                f.write(f"\n## {title}\n\n{body}\n")
            f.write(f"\n{foot}\n")
        print(f"(written to {args.results})", file=sys.stderr)


if __name__ == "__main__":
    main()
