"""Cold start: a fresh interpreter that imports the framework and builds an app, timed whole.

Each case is `python -c "<code>"` in a new process, timed from the parent (fork and exec to
exit: the interpreter's own start-up is inside every figure, so "over bare" subtracts the
median of `python -c pass`, the same interpreter with the same flags and environment). The
bytecode caches are warm: PYTHONDONTWRITEBYTECODE is removed from the children's environment
and every case runs once before the clock, so each .pyc exists. The cases are interleaved,
order rotated each round; each figure is the median of the rounds.

- nextapi seed: `import nextapi; nextapi.App("samples/comments/pages")` (3 routes);
- nextapi 1,000 routes: a generated tree of 1,000 handler files in nested folders, one in four
  under a dynamic `[id]` segment (`api/g{i // 50}/r{i}.py` or `api/g{i // 50}/r{i}/[id].py`),
  built in production mode (every file imported up front) and in dev mode (lazy);
- Flask and FastAPI: the same routes registered in code (3 like the seed sample, and the same
  1,000 paths), their view functions made in a loop in one generated module each.

    python bench/coldstart.py [--runs 10] [--importtime]
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from common import ROOT, table

N_ROUTES = 1000
SEED = os.path.join(ROOT, "samples", "comments", "pages")

HANDLER = '''def get(req, res):
    return {{"route": {i}}}
'''
DYNAMIC_HANDLER = '''def get(req, res):
    return {{"route": {i}, "id": req.query["id"]}}
'''

FLASK = '''from flask import Flask, jsonify

app = Flask(__name__)


def _static(i):
    def view():
        return jsonify(route=i)
    return view


def _dynamic(i):
    def view(id):
        return jsonify(route=i, id=id)
    return view


for i, path, dynamic in ROUTES:
    app.add_url_rule(path.replace("[id]", "<id>"), f"r{i}", (_dynamic if dynamic else _static)(i), methods=["GET"])
'''

FASTAPI = '''from fastapi import FastAPI

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


def _static(i):
    async def view():
        return {"route": i}
    return view


def _dynamic(i):
    async def view(id: str):
        return {"route": i, "id": id}
    return view


for i, path, dynamic in ROUTES:
    app.add_api_route(path.replace("[id]", "{id}"), (_dynamic if dynamic else _static)(i), methods=["GET"], name=f"r{i}")
'''

# The seed sample's three routes, as the peers write them.
SEED_ROUTES = [(0, "/api/comments", False), (1, "/api/comments/[id]", True), (2, "/api/hello", False)]


def routes(n: int) -> list[tuple[int, str, bool]]:
    return [(i, f"/api/g{i // 50}/r{i}" + ("/[id]" if i % 4 == 0 else ""), i % 4 == 0) for i in range(n)]


def generate(base: str, n: int = N_ROUTES) -> dict[str, str]:
    """The nextapi tree and the peers' modules in `base`; returns {name: module or pages path}."""
    pages = os.path.join(base, "pages")
    for i, path, dynamic in routes(n):
        file = os.path.join(pages, *path.strip("/").split("/")) + ".py"
        os.makedirs(os.path.dirname(file), exist_ok=True)
        with open(file, "w", encoding="utf-8") as f:
            f.write((DYNAMIC_HANDLER if dynamic else HANDLER).format(i=i))
    for name, source in (("flask", FLASK), ("fastapi", FASTAPI)):
        for suffix, table_ in (("seed", SEED_ROUTES), (str(n), routes(n))):
            with open(os.path.join(base, f"cold_{name}_{suffix}.py"), "w", encoding="utf-8") as f:
                f.write(f"ROUTES = {table_!r}\n\n" + source)
    return {"pages": pages}


def cases(base: str, pages: str) -> list[tuple[str, str, str]]:
    """(key, label, -c code) for each case whose framework is importable here."""
    out = [("bare", "bare Python (`-c pass`)", "pass"),
           ("nextapi_seed", "nextapi, seed sample (3 routes)", f"import nextapi; nextapi.App({SEED!r})"),
           ("nextapi_1000", f"nextapi, {N_ROUTES:,} routes (production: all imported)",
            f"import nextapi; nextapi.App({pages!r})"),
           ("nextapi_1000_dev", f"nextapi, {N_ROUTES:,} routes (dev mode: lazy)",
            f"import nextapi; nextapi.App({pages!r}, dev=True)")]
    for name, label in (("flask", "Flask"), ("fastapi", "FastAPI")):
        if importlib.util.find_spec(name) is None:
            continue
        out.append((f"{name}_seed", f"{label}, 3 routes", f"import cold_{name}_seed"))
        out.append((f"{name}_1000", f"{label}, {N_ROUTES:,} routes", f"import cold_{name}_{N_ROUTES}"))
    return out


def child_env(base: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "PYTHONSTARTUP")}
    env["PYTHONPATH"] = os.pathsep.join([ROOT, base])
    return env


def run_once(code: str, base: str, env: dict[str, str], flags: tuple[str, ...] = ()) -> tuple[float, float, str]:
    """One fresh interpreter: its wall time and its CPU time (user + system, from wait4), ms; its stderr."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *flags, "-c", code], cwd=base, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        ms = (time.perf_counter() - t0) * 1000
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    if proc.returncode:
        raise RuntimeError(f"{code!r} failed ({proc.returncode}):\n{text[-2000:]}")
    return ms, (usage.ru_utime + usage.ru_stime) * 1000, text


def importtime(code: str, base: str, env: dict[str, str], runs: int = 5, top: int = 10) -> list[tuple[str, float, float]]:
    """`-X importtime` of `code`: the `top` modules by own import time, (module, self µs, cumulative µs),
    each the median over `runs` runs; not those `python -c pass` imports too (site, encodings...)."""
    _, _, err = run_once("pass", base, env, ("-X", "importtime"))
    startup = set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \| *(\S+)", err, re.M))
    selfs: dict[str, list[float]] = {}
    cums: dict[str, list[float]] = {}
    for _ in range(runs):
        _, _, err = run_once(code, base, env, ("-X", "importtime"))
        for m in re.finditer(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", err, re.M):
            selfs.setdefault(m.group(4), []).append(float(m.group(1)))
            cums.setdefault(m.group(4), []).append(float(m.group(2)))
    rows = [(mod, statistics.median(v), statistics.median(cums[mod])) for mod, v in selfs.items() if mod not in startup]
    return sorted(rows, key=lambda r: -r[1])[:top]


def measure(runs: int = 10, with_importtime: bool = True) -> dict[str, Any]:
    base = tempfile.mkdtemp(prefix="nextapi-bench-cold-")
    try:
        pages = generate(base)["pages"]
        env = child_env(base)
        todo = cases(base, pages)
        for _, _, code in todo:  # warm-up: every .pyc written, the files in the page cache
            run_once(code, base, env)
        samples: dict[str, list[float]] = {key: [] for key, _, _ in todo}
        cpu: dict[str, list[float]] = {key: [] for key, _, _ in todo}
        for rnd in range(runs):
            shift = rnd % len(todo)
            for key, _, code in todo[shift:] + todo[:shift]:
                wall, used, _ = run_once(code, base, env)
                samples[key].append(wall)
                cpu[key].append(used)
        imports = importtime(todo[1][2], base, env) if with_importtime else []
        total_import = None
        if with_importtime:  # everything imported, each top-level import's cumulative time summed
            _, _, err = run_once(todo[1][2], base, env, ("-X", "importtime"))
            total_import = sum(float(m.group(1)) for m in re.finditer(r"^import time:\s+\d+ \|\s+(\d+) \| \S", err, re.M))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return {"ms": {k: statistics.median(v) for k, v in samples.items()},
            "cpu_ms": {k: statistics.median(v) for k, v in cpu.items()},
            "spread": {k: (min(v), max(v)) for k, v in samples.items()},
            "labels": {k: label for k, label, _ in todo}, "runs": runs, "importtime": imports,
            "nextapi_import_us": total_import}


def render(result: dict[str, Any], importtime_in_text: bool = True) -> str:
    ms, cpu, labels = result["ms"], result["cpu_ms"], result["labels"]
    bare, bare_cpu = ms["bare"], cpu["bare"]
    rows = []
    for key, label in labels.items():
        lo, hi = result["spread"][key]
        rows.append([label, f"{ms[key]:.1f}", "–" if key == "bare" else f"{ms[key] - bare:+.1f}",
                     f"{lo:.0f}–{hi:.0f}", f"{cpu[key]:.1f}", "–" if key == "bare" else f"{cpu[key] - bare_cpu:+.1f}"])
    text = table(["fresh interpreter runs", "wall ms (median)", "wall ms over bare", "wall range ms",
                  "CPU ms (median)", "CPU ms over bare"], rows)
    seed = ms["nextapi_seed"] - bare
    text += (f"\n\nTarget: nextapi seed ≤ 40 ms over bare: {seed:.1f} ms, "
             f"{'met' if seed <= 40 else '**missed**'} (CPU time over bare: {cpu['nextapi_seed'] - bare_cpu:.1f} ms).\n"
             f"Each figure is the median of {result['runs']} runs of `{os.path.basename(sys.executable)} -c ...` "
             "(interleaved, order rotated each round), wall time of the whole process from the parent, bytecode "
             "caches warm (PYTHONDONTWRITEBYTECODE removed, one warm-up run of each first); the CPU time (user + "
             "system, from `wait4`) moves less with the machine's load. nextapi's 1,000 routes "
             f"are {N_ROUTES:,} handler files (`api/g{{i // 50}}/r{{i}}.py`, one in four `api/g{{i // 50}}/r{{i}}/[id].py`); "
             "Flask's and FastAPI's are the same paths registered in code from one module, so theirs has no "
             "files to import.")
    if importtime_in_text and result["importtime"]:
        total = result.get("nextapi_import_us")
        lines = [f"{mod:<40} {s / 1000:7.2f} {c / 1000:8.2f}" for mod, s, c in result["importtime"]]
        text += ("\n\n`-X importtime` of the nextapi seed case, the 10 slowest modules by own time, leaving out "
                 "those bare Python imports too "
                 f"(ms, median of 5 runs){f'; all the imports of the run, start-up included: {total / 1000:.1f} ms' if total else ''}:\n\n"
                 "```\n" + f"{'module':<40} {'self':>7} {'cumul.':>8}\n" + "\n".join(lines) + "\n```")
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--no-importtime", action="store_true")
    args = ap.parse_args()
    print(render(measure(args.runs, not args.no_importtime)))


if __name__ == "__main__":
    main()
