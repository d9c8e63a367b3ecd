"""Memory: a gunicorn worker's resident set after 10,000 requests.

Each app under `gunicorn -w 1 -k sync` on 127.0.0.1 (a free port, as httpbench.py starts
them), one app at a time. Its worker's VmRSS is read from /proc/<pid>/status once it has
answered the readiness probe, then 10,000 requests are sent (workloads A to D, 2,500 each,
one client process per workload, a new connection per request: the sync worker closes each
anyway), every answer's status checked, and VmRSS and VmHWM (the peak) read again. The
server is always stopped, by its pid.

    python bench/memory.py [--apps nextapi,falcon] [--requests 10000]
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from typing import Any

import httpbench
from common import LABELS, WORKLOADS, table

APPS = ("bare", "nextapi", "falcon", "flask")


def worker_pid(master: int, timeout: float = 10.0) -> int:
    """The one worker of a gunicorn master: its child process."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids: list[int] = []
        try:
            with open(f"/proc/{master}/task/{master}/children") as f:
                kids = [int(p) for p in f.read().split()]
        except OSError:  # no CONFIG_PROC_CHILDREN: look for it
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        with open(f"/proc/{entry}/stat") as f:
                            if int(f.read().rsplit(")", 1)[1].split()[1]) == master:
                                kids.append(int(entry))
                    except (OSError, ValueError, IndexError):
                        pass
        if len(kids) == 1:
            return kids[0]
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn master {master}: no single worker found")


def status_mb(pid: int) -> dict[str, float]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024  # kB to MiB
    return out


def _raw(w: Any, port: int) -> bytes:
    head = f"{w.method} {w.url} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
    if w.body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(w.body)}\r\n"
    return head.encode() + b"\r\n" + w.body


def load(port: int, requests: int) -> int:
    """`requests` requests, an equal share of each workload, one client process per workload; returns the number answered as expected."""
    share = requests // len(WORKLOADS)
    jobs = [(port, _raw(w, port), str(w.status).encode(), 300.0, share) for w in WORKLOADS]
    with multiprocessing.get_context("spawn").Pool(len(jobs)) as pool:
        results = pool.starmap(httpbench._py_client, jobs)
    done, errors = sum(r[0] for r in results), sum(r[1] for r in results)
    if errors or done != share * len(WORKLOADS):
        raise RuntimeError(f"{done} requests answered as expected, {errors} not")
    return done


def measure(apps: tuple[str, ...] = APPS, requests: int = 10_000) -> dict[str, Any]:
    rows: dict[str, dict[str, float]] = {}
    with httpbench.server_workdir("nextapi-bench-mem-", "gunicorn.log") as (_, log):
        for name in apps:
            proc, port = httpbench.start(name, 1, log)
            try:
                pid = worker_pid(proc.pid)
                before = status_mb(pid)
                t0 = time.monotonic()
                done = load(port, requests)
                took = time.monotonic() - t0
                after = status_mb(pid)
                rows[name] = {"start_rss": before["VmRSS"], "rss": after["VmRSS"], "hwm": after["VmHWM"],
                              "requests": done, "seconds": took}
            finally:
                httpbench.stop(proc)
    return {"rows": rows, "requests": requests}


def render(result: dict[str, Any]) -> str:
    rows = []
    for name, r in result["rows"].items():
        rows.append([LABELS[name], f"{r['start_rss']:.1f}", f"{r['rss']:.1f}", f"{r['hwm']:.1f}",
                     f"{r['rss'] - r['start_rss']:+.1f}"])
    text = table(["app (gunicorn -w 1, sync)", "RSS after start MiB", f"RSS after {result['requests']:,} MiB",
                  "peak (VmHWM) MiB", "growth MiB"], rows)
    text += (f"\n\nThe worker process's VmRSS and VmHWM from /proc/<pid>/status: once it has answered one request, "
             f"and after {result['requests']:,} more (workloads A–D, {result['requests'] // len(WORKLOADS):,} each, "
             "4 client processes, a new connection per request, every status checked).")
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--apps", default=",".join(APPS))
    ap.add_argument("--requests", type=int, default=10_000)
    args = ap.parse_args()
    print(render(measure(tuple(args.apps.split(",")), args.requests)))


if __name__ == "__main__":
    main()
