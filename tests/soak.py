"""Soak test (`make soak`, not part of `make test`): nextapi under gunicorn for a
bounded few minutes of mixed good, 404 and hostile traffic.

    python tests/soak.py [--seconds 180] [--clients 8]

Starts `gunicorn -w 2 --max-requests 0` on 127.0.0.1 (a free port) serving a
small pages tree (with `--limit-request-line 0`, so a long query reaches
nextapi's own 414 instead of gunicorn's), drives it from client threads over raw sockets (so hostile
requests go out byte for byte), samples each worker's VmRSS and open file
descriptors from /proc, and prints a report. Exit 1 when any request got a
500 or no answer, a worker died, or a worker's memory grew steadily.

RSS is sampled every 0.5 s and each 10 s window keeps its lowest value (the
memory a worker holds between requests, without the peaks of the uploads in
flight). "Grew steadily": after a warm-up (the first quarter of the run) the
least-squares slope of those troughs is over --max-slope KB/min (1 MB/min)
AND the worker kept over --max-growth KB (2 MB) more at the end than just
after warm-up. At ~850 requests/s per worker that is ~20 bytes kept per
request; `--leak 1000` (1 KB kept per /api/ok, 1 request in 32) fails with
+3.4 MB/min, a clean run measures within +-30 KB/min.
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script (`python tests/soak.py`): the tests package beside it

from tests.servers import free_port  # noqa: E402

MB = 1024 * 1024

PAGES = {
    "api/ok.py": "def handler(req, res):\n    return {'ok': True}\n",
    "api/echo.py": """
        def handler(req, res):
            body = req.body
            files = req.files
            return {"q": len(req.query), "c": len(req.cookies), "b": type(body).__name__,
                    "f": {k: (v.size if hasattr(v, "size") else len(v)) for k, v in files.items()}}
    """,
    "api/upload.py": """
        config = {"body_parser": {"size_limit": "4mb"}}
        def post(req, res):
            f = req.files["f"]
            n = 0
            while chunk := f.read(65536):
                n += len(chunk)
            return {"size": n}
    """,
    "api/items/[id].py": "def get(req, res):\n    return {'id': req.query['id']}\n",
    "api/files/[...path].py": "def get(req, res):\n    return {'n': len(req.query['path'])}\n",
    "api/_private.py": "raise SystemExit('never imported')\n",
}


# --- requests -----------------------------------------------------------------------------

def request(method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b"",
            length: str | None = "auto") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if length == "auto":
        if body:
            lines.append(f"Content-Length: {len(body)}")
    elif length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def multipart(parts: list[tuple[str, bytes, str | None]], boundary: str = "soakBoundary42") -> tuple[dict, bytes]:
    out = []
    for name, data, filename in parts:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out.append(f"--{boundary}\r\nContent-Disposition: {disp}\r\n\r\n".encode() + data + b"\r\n")
    return {"Content-Type": f"multipart/form-data; boundary={boundary}"}, b"".join(out) + f"--{boundary}--\r\n".encode()


def build_mix() -> list[tuple[str, str, bytes, int]]:
    """(kind, label, raw request, expected status): kind is good, 404 or hostile."""
    j = {"Content-Type": "application/json"}
    f = {"Content-Type": "application/x-www-form-urlencoded"}
    mp_h, mp_b = multipart([("title", b"hello", None), ("doc", b"x" * 5000, "a.txt")])
    big_h, big_b = multipart([("f", os.urandom(1536 * 1024), "big.bin")])  # spooled to disk
    bad_h, bad_b = multipart([("a", b"1", None)])
    good = [
        ("ok", request("GET", "/api/ok")),
        ("head", request("HEAD", "/api/ok")),
        ("item", request("GET", "/api/items/42?x=1&x=2")),
        ("catchall", request("GET", "/api/files/a/b/c")),
        ("json", request("POST", "/api/echo", j, b'{"a": [1, 2, {"b": null}]}')),
        ("form", request("POST", "/api/echo", f, b"a=1&b=%20x&a=2")),
        ("cookies", request("GET", "/api/echo", {"Cookie": "sid=abc; theme=dark; n=%E2%82%AC"})),
        ("multipart", request("POST", "/api/echo", mp_h, mp_b)),
        ("upload-1.5mb", request("POST", "/api/upload", big_h, big_b)),
        ("redirect", request("GET", "//evil.com/")),
        ("options", request("OPTIONS", "/api/items/1")),
    ]
    missing = [
        ("unknown", request("GET", "/api/nope")),
        ("dotdot", request("GET", "/api/items/..")),
        ("private", request("GET", "/api/_private")),
        ("py-suffix", request("GET", "/api/ok.py")),
        ("dotfile", request("GET", "/api/.env")),
        ("nul", request("GET", "/api/items/%00")),
        ("backslash", request("GET", "/api/items/a%5Cb")),
    ]
    hostile = [
        ("bad-length", request("POST", "/api/echo", j, b"{}", length="+2")),
        ("over-limit", request("POST", "/api/echo", j, b"", length=str(5 * MB))),  # body never sent
        ("deep-json", request("POST", "/api/echo", j, b"[" * 20000 + b"]" * 20000)),
        ("bad-json", request("POST", "/api/echo", j, b"{bad")),
        ("many-fields", request("POST", "/api/echo", f, b"&".join([b"a=1"] * 1500))),
        ("long-query", request("GET", "/api/echo?q=" + "x" * 9000)),
        ("many-query", request("GET", "/api/echo?" + "&".join(["k=v"] * 1200))),
        ("cookie-flood", request("GET", "/api/echo", {"Cookie": "; ".join(f"c{i}=v" for i in range(400))})),
        ("cookie-backslashes", request("GET", "/api/echo", {"Cookie": 'a="' + "\\" * 7000 + '"'})),
        ("not-utf8-path", request("GET", "/api/items/%FF%FE")),
        ("bad-multipart", request("POST", "/api/echo", bad_h, bad_b[:-10])),
        ("no-boundary", request("POST", "/api/echo", {"Content-Type": "multipart/form-data"}, b"--x--")),
        ("method", request("TRACE", "/api/items/1")),
        ("bad-text", request("POST", "/api/echo", {"Content-Type": "text/plain; charset=rot13"}, b"hi")),
    ]
    expected = {"redirect": 308, "options": 204, "over-limit": 413, "long-query": 414, "method": 405,
                "cookie-flood": 200, "cookie-backslashes": 200}
    return ([("good", label, raw, expected.get(label, 200)) for label, raw in good]
            + [("404", label, raw, 404) for label, raw in missing]
            + [("hostile", label, raw, expected.get(label, 400)) for label, raw in hostile])


def send(port: int, raw: bytes, timeout: float = 15.0) -> int | None:
    """Status code, or None for no answer (refused, reset, timeout, garbage)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
            data = bytearray()
            while chunk := sock.recv(65536):
                data += chunk
    except OSError:
        return None
    head = bytes(data[:32])
    if not head.startswith(b"HTTP/1.") or len(head) < 12 or not head[9:12].isdigit():
        return None
    return int(head[9:12])


# --- /proc --------------------------------------------------------------------------------

def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as fh:
                    if any(line.startswith("PPid:") and int(line.split()[1]) == pid for line in fh):
                        out.append(int(entry))
            except OSError:
                pass
    return sorted(out)


def rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def fd_count(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def troughs(samples: list[tuple[float, int]], window: float) -> list[tuple[float, int]]:
    """The lowest RSS of each window: what a worker keeps, without the in-flight requests' peaks."""
    out: dict[int, tuple[float, int]] = {}
    for t, kb in samples:
        key = int(t // window)
        if key not in out or kb < out[key][1]:
            out[key] = (t, kb)
    return [out[k] for k in sorted(out)]


def slope_kb_per_min(samples: list[tuple[float, int]]) -> float:
    n = len(samples)
    if n < 3:
        return 0.0
    mt = sum(t for t, _ in samples) / n
    mv = sum(v for _, v in samples) / n
    var = sum((t - mt) ** 2 for t, _ in samples)
    return 0.0 if var == 0 else sum((t - mt) * (v - mv) for t, v in samples) / var * 60


# --- the run ------------------------------------------------------------------------------

def wait_ready(port: int, proc: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode} before serving")
        if send(port, request("GET", "/api/ok"), timeout=2) == 200:
            return
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within 30 s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", "180")))
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--sample", type=float, default=0.5, help="seconds between RSS samples")
    ap.add_argument("--window", type=float, default=10.0,
                    help="seconds per window; a window's lowest RSS is the memory the worker kept")
    ap.add_argument("--max-slope", type=float, default=1024.0, help="KB/min of RSS growth allowed after warm-up")
    ap.add_argument("--max-growth", type=float, default=2048.0, help="KB of RSS kept since warm-up allowed")
    ap.add_argument("--leak", type=int, default=0,
                    help="make /api/ok keep this many bytes per request (to see the detector fail)")
    args = ap.parse_args()
    if not sys.platform.startswith("linux"):
        print("soak: needs Linux (/proc) for the memory figures", file=sys.stderr)
        return 2

    tmp = Path(tempfile.mkdtemp(prefix="nextapi-soak-"))
    pages = tmp / "pages"
    files = dict(PAGES)
    if args.leak:
        files["api/ok.py"] = f"KEPT = []\ndef handler(req, res):\n    KEPT.append(bytes({args.leak}))\n" \
                             "    return {'ok': True}\n"
    for rel, src in files.items():
        path = pages / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(src))
    port = free_port()
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
               NEXTAPI_PAGES=str(pages))
    cmd = [sys.executable, "-m", "gunicorn", "-w", "2", "--max-requests", "0", "-b", f"127.0.0.1:{port}",
           "--timeout", "30", "--graceful-timeout", "5", "--log-level", "error",
           "--limit-request-line", "0", "--worker-tmp-dir", str(tmp), f"nextapi:App({str(pages)!r})"]
    proc = subprocess.Popen(cmd, cwd=tmp, env=env, start_new_session=True)
    mix = build_mix()
    counts: Counter[tuple[str, int | None]] = Counter()
    failures: list[str] = []
    unexpected: Counter[str] = Counter()
    lock = threading.Lock()
    stop = threading.Event()
    try:
        wait_ready(port, proc, time.monotonic() + 30)
        deadline = time.monotonic() + 20
        while len(workers := children(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)  # the second worker may still be booting
        for w in workers:  # both warm: every module imported, before the first sample
            send(port, request("GET", "/api/ok"))
        if len(workers) != 2:
            raise SystemExit(f"expected 2 gunicorn workers, found {workers}")
        rss: dict[int, list[tuple[float, int]]] = {w: [] for w in workers}
        fds: dict[int, list[int]] = {w: [] for w in workers}

        def client(seed: int) -> None:
            rng = random.Random(seed)
            local: Counter[tuple[str, int | None]] = Counter()
            while not stop.is_set():
                kind, label, raw, expected = rng.choice(mix)
                status = send(port, raw)
                local[(kind, status)] += 1
                if status != expected:
                    with lock:
                        unexpected[f"{kind} {label}: {status}, expected {expected}"] += 1
            with lock:
                counts.update(local)

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(args.clients)]
        started = time.monotonic()
        for t in threads:
            t.start()
        while (elapsed := time.monotonic() - started) < args.seconds:
            for w in workers:
                kb, n = rss_kb(w), fd_count(w)
                if kb is None:
                    failures.append(f"worker {w} died")
                else:
                    rss[w].append((elapsed, kb))
                    fds[w].append(n or 0)
            if children(proc.pid) != workers:
                failures.append(f"workers changed: {workers} -> {children(proc.pid)}")
                break
            time.sleep(args.sample)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        duration = time.monotonic() - started
    finally:
        stop.set()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    total = sum(counts.values())
    by_kind = Counter()
    statuses = Counter()
    for (kind, status), n in counts.items():
        by_kind[kind] += n
        statuses[status] += n
    no_answer = statuses.get(None, 0)
    fives = sum(n for s, n in statuses.items() if s is not None and s >= 500)
    print(f"\nnextapi soak: gunicorn -w 2 --max-requests 0, {args.clients} clients, {duration:.0f} s")
    print(f"requests served: {total - no_answer} of {total} ({total / duration:.0f}/s); "
          + ", ".join(f"{k} {n}" for k, n in sorted(by_kind.items())))
    print("statuses: " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items(), key=lambda x: (x[0] is None, x[0] or 0))))
    print(f"errors: {fives} answered 5xx, {no_answer} without an answer, "
          f"{sum(unexpected.values())} other unexpected statuses")
    leak = False
    for w in workers:
        samples = troughs(rss[w], args.window)
        q = len(samples) // 4
        warm = samples[q:]
        slope = slope_kb_per_min(warm)
        head, tail = warm[:3], warm[-3:]
        growth = (sum(v for _, v in tail) / len(tail) - sum(v for _, v in head) / len(head)) if warm else 0.0
        steady = slope > args.max_slope and growth > args.max_growth
        leak |= steady
        peak = max(kb for _, kb in rss[w])
        print(f"worker {w}: RSS {samples[0][1] / 1024:.1f} MB at start, {samples[q][1] / 1024:.1f} MB after warm-up, "
              f"{samples[-1][1] / 1024:.1f} MB at end (peak {peak / 1024:.1f} MB); "
              f"slope after warm-up {slope:+.0f} KB/min, "
              f"kept {growth:+.0f} KB since warm-up; open fds {fds[w][0]} -> {fds[w][-1]}"
              + ("  <-- grows steadily" if steady else ""))
    for line in failures[:20]:
        print("  failure:", line)
    for line, n in unexpected.most_common(20):
        print(f"  unexpected: {line} ({n}x)")
    ok = not failures and not unexpected and not fives and not no_answer and not leak
    print("soak:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
