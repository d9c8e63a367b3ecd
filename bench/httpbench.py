"""Over HTTP: each app under gunicorn (sync workers) on 127.0.0.1, driven by wrk
(and, for the typed workload, FastAPI under uvicorn: bench/typed.py).

Without wrk a small multi-process Python load generator stands in (it is
slower than wrk, so its figures are lower and closer together). Every run is
bounded in time, every server is started on a free port and stopped by its pid.
"""
from __future__ import annotations

import http.client
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from common import (
    APPS,
    FRAMEWORKS,
    LABELS,
    MODULES,
    ROOT,
    WORKLOADS,
    Workload,
    call,
    load_app,
    median,
    table,
    template,
)

CONNECTIONS = 4
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(name: str, workers: int, log: Any, server: str = "gunicorn",
          ready: Workload | None = None) -> tuple[subprocess.Popen, int]:
    """`name`'s app under gunicorn (sync workers) or uvicorn (one process), answering `ready` with 200."""
    port = free_port()
    if server == "uvicorn":
        if workers != 1:
            raise ValueError("uvicorn runs one process here")
        cmd = [sys.executable, "-m", "uvicorn", "--app-dir", APPS, "--host", "127.0.0.1", "--port", str(port),
               "--log-level", "warning", "--no-access-log", "--timeout-graceful-shutdown", "2",
               f"{MODULES[name]}:app"]
    else:
        cmd = [sys.executable, "-m", "gunicorn", "--chdir", APPS, "-w", str(workers), "-k", "sync",
               "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--graceful-timeout", "2",
               f"{MODULES[name]}:app"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, APPS]))
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    probe = ready or WORKLOADS[0]
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{server} for {name} exited with {proc.returncode}")
        try:
            status, _ = fetch(port, probe)
            if status == 200:
                return proc, port
        except OSError:
            time.sleep(0.1)
    stop(proc)
    raise RuntimeError(f"{server} for {name} did not answer within {START_TIMEOUT:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    """Stop the server by its pid (a gunicorn master stops its workers)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def fetch(port: int, w: Workload) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        headers = {"Content-Type": "application/json"} if w.body else {}
        conn.request(w.method, w.url, body=w.body or None, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()



@contextmanager
def server_workdir(prefix: str, log_name: str) -> Iterator[tuple[str, IO[str]]]:
    """A temporary folder with the servers' log open in it for writing: the log's tail goes to
    stderr when the run fails, and the folder is always removed."""
    workdir = tempfile.mkdtemp(prefix=prefix)
    log_path = os.path.join(workdir, log_name)
    try:
        with open(log_path, "w") as log:
            yield workdir, log
    except Exception:
        with open(log_path) as f:
            sys.stderr.write(f.read()[-4000:])
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# -- drivers ------------------------------------------------------------------
def wrk_rps(port: int, w: Workload, seconds: int, workdir: str) -> float:
    cmd = ["wrk", "-t", "1", "-c", str(CONNECTIONS), "-d", f"{seconds}s", "--timeout", "2s"]
    if w.body:
        script = os.path.join(workdir, "post.lua")
        with open(script, "w", encoding="utf-8") as f:
            f.write(f'wrk.method = "{w.method}"\nwrk.headers["Content-Type"] = "application/json"\n'
                    f"wrk.body = [==[{w.body.decode()}]==]\n")
        cmd += ["-s", script]
    cmd.append(f"http://127.0.0.1:{port}{w.url}")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout
    m = re.search(r"Requests/sec:\s*([0-9.]+)", out)
    if not m:
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    bad_n = int(bad.group(1)) if bad else 0
    if (w.status == 200 and bad_n) or (w.status != 200 and bad_n < total):
        raise RuntimeError(f"unexpected statuses for {w.label}:\n{out}")
    return float(m.group(1))


def _py_client(port: int, raw: bytes, expect: bytes, seconds: float, limit: int) -> tuple[int, int, float]:
    """One load process: connection-per-request (gunicorn's sync workers close anyway).

    Its clock starts when it is ready, so process start-up is not counted.
    """
    done = errors = 0
    start = time.monotonic()
    deadline = start + seconds
    while time.monotonic() < deadline and done < limit:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(raw)
                chunks = []
                while chunk := s.recv(65536):
                    chunks.append(chunk)
            if b"".join(chunks)[9:12] == expect:
                done += 1
            else:
                errors += 1
        except OSError:
            errors += 1
    return done, errors, time.monotonic() - start


def python_rps(port: int, w: Workload, seconds: int, workdir: str) -> float:
    head = (f"{w.method} {w.url} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n")
    if w.body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(w.body)}\r\n"
    raw = head.encode() + b"\r\n" + w.body
    with multiprocessing.get_context("spawn").Pool(CONNECTIONS) as pool:
        results = pool.starmap(_py_client, [(port, raw, str(w.status).encode(), seconds, 10_000_000)] * CONNECTIONS)
    done = sum(r[0] for r in results)
    if sum(r[1] for r in results) > done // 100:
        raise RuntimeError(f"too many failed requests for {w.label}: {results}")
    return sum(r[0] / r[2] for r in results)


def measure(seconds: int = 1, rounds: int = 4, worker_counts: tuple[int, ...] = (1, 2),
            frameworks: tuple[str, ...] = FRAMEWORKS) -> dict[str, Any]:
    """All servers of one worker count run side by side (idle ones sleep); the
    figures interleave them: round by round, workload by workload, rotating
    the framework order, so a busy moment on the machine hits everyone."""
    driver = "wrk" if shutil.which("wrk") else "python"
    drive = wrk_rps if driver == "wrk" else python_rps
    expected = {}
    for w in WORKLOADS:  # what every server must send, taken from the bare function
        _, _, expected[w.key] = call(load_app("bare"), template(w.method, w.path, w.query, w.body), w.body)
    samples: dict[tuple[int, str, str], list[float]] = {}
    with server_workdir("nextapi-bench-http-", "gunicorn.log") as (workdir, log):
        for workers in worker_counts:
            servers: dict[str, tuple[subprocess.Popen, int]] = {}
            try:
                for name in frameworks:
                    servers[name] = start(name, workers, log)
                for name, (_, port) in servers.items():
                    for w in WORKLOADS:  # the same bytes over the wire too
                        status, body = fetch(port, w)
                        if status != w.status or body != expected[w.key]:
                            raise RuntimeError(f"{name} over HTTP: {w.label} -> {status} {body[:80]!r}")
                    drive(port, WORKLOADS[0], 1, workdir)  # warm-up
                for rnd in range(rounds):
                    shift = rnd % len(frameworks)
                    order = frameworks[shift:] + frameworks[:shift]
                    for w in WORKLOADS:
                        for name in order:
                            rps = drive(servers[name][1], w, seconds, workdir)
                            samples.setdefault((workers, name, w.key), []).append(rps)
            finally:
                for proc, _ in servers.values():
                    stop(proc)
    return {"rps": {k: median(v) for k, v in samples.items()}, "driver": driver, "seconds": seconds,
            "rounds": rounds, "workers": list(worker_counts), "frameworks": list(frameworks),
            "connections": CONNECTIONS}


def render(result: dict[str, Any]) -> str:
    rps = result["rps"]
    parts = []
    for workers in result["workers"]:
        headers = ["workload", *(f"{LABELS[n]} req/s" + ("" if n == "bare" else " (% of bare)")
                                 for n in result["frameworks"])]
        rows = []
        for w in WORKLOADS:
            bare = rps[(workers, "bare", w.key)]
            cells = [f"{w.key} {w.label}"]
            for n in result["frameworks"]:
                r = rps[(workers, n, w.key)]
                cells.append(f"{r:,.0f}" if n == "bare" else f"{r:,.0f} ({100 * r / bare:.0f}%)")
            rows.append(cells)
        parts.append(f"gunicorn, {workers} sync worker{'s' if workers > 1 else ''}:\n\n" + table(headers, rows))
    driver = (f"wrk, 1 thread, {result['connections']} connections" if result["driver"] == "wrk"
              else f"the Python load generator ({result['connections']} processes; wrk was not found)")
    parts.append(f"Driven by {driver}, {result['seconds']} s per run after a 1 s warm-up per server; each "
                 f"figure is the median of {result['rounds']} runs, interleaved across frameworks (order rotated "
                 "each round). Client and servers share the machine's cores, so the load generator's own CPU "
                 "use is inside every figure.")
    return "\n\n".join(parts)


if __name__ == "__main__":
    print(render(measure()))
