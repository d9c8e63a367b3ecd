"""cProfile of nextapi's hot path, one workload at a time.

`python bench/profile_hot.py [A B C D Ct Cu]` prints, per workload, the functions
that take the most time of their own over many direct WSGI calls.
"""
from __future__ import annotations

import cProfile
import io
import pstats
import sys

from common import TYPED_WORKLOADS, WORKLOADS, environs, load_app, template


def profile(key: str, n: int = 20000, top: int = 12) -> str:
    w = next(w for w in WORKLOADS + TYPED_WORKLOADS if w.key == key)
    app = load_app("nextapi")
    envs = environs(template(w.method, w.path, w.query, w.body), w.body, n)

    def sr(status, headers, exc_info=None):
        return None

    def run():
        for env in envs:
            out = app(env, sr)
            for _ in out:
                pass

    prof = cProfile.Profile()
    prof.runcall(run)
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("tottime").print_stats(top)
    lines = [ln for ln in buf.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls"))
    total = next((ln.strip() for ln in lines if "function calls" in ln), "")
    body = [_short(ln) for ln in lines[start:]]
    return f"{w.key} {w.label}: {n:,} requests, {total}\n" + "\n".join(body)


def _short(line: str) -> str:
    """Paths relative to the checkout or site-packages, so the table stays narrow."""
    for marker in ("/site-packages/", "/lib/python3"):
        if marker in line:
            head, _, tail = line.partition(marker)
            cut = head.rfind(" ")
            line = head[: cut + 1] + tail
    from common import ROOT
    return line.replace(ROOT + "/", "")


if __name__ == "__main__":
    for key in sys.argv[1:] or [w.key for w in WORKLOADS]:
        print(profile(key))
        print()
