"""In-process: each app's WSGI callable driven directly, no server, no sockets.

Every call gets a fresh environ (built before the clock starts). Frameworks
and workloads are interleaved, rotating the order each repetition, so drift
on the machine hits everyone alike; each figure is the median of the
repetitions, in microseconds per request, with its ratio to the bare function.
"""
from __future__ import annotations

import sys
from typing import Any, Callable

from common import FRAMEWORKS, LABELS, VARIANTS, WORKLOADS, call, environs, fmt_us, load_app, median, table, template, time_batch


def check_same_bytes(apps: dict[str, Callable[..., Any]]) -> list[str]:
    """Every app answers every workload with the bare function's status and body bytes.

    Returns notes on the headers that differ (extra headers are allowed).
    """
    notes = []
    for w in WORKLOADS:
        tmpl = template(w.method, w.path, w.query, w.body)
        ref_status, ref_headers, ref_body = call(apps["bare"], tmpl, w.body)
        assert ref_status == w.status, (w.key, ref_status)
        for name, app in apps.items():
            status, headers, body = call(app, tmpl, w.body)
            if status != ref_status or body != ref_body:
                sys.exit(f"bench: {name} answers {w.label} with {status} {body[:80]!r}, "
                         f"bare with {ref_status} {ref_body[:80]!r}: the workloads must be identical")
            media = headers.get("content-type", "").split(";")[0]
            if media != "application/json":
                sys.exit(f"bench: {name} answers {w.label} with Content-Type {headers.get('content-type')!r}")
            extra = sorted(set(headers) - set(ref_headers))
            if extra:
                notes.append(f"{LABELS[name]} {w.key}: also sends {', '.join(extra)}")
    return notes


def measure(reps: int = 21, batch: int = 1000, frameworks: tuple[str, ...] = FRAMEWORKS + VARIANTS) -> dict[str, Any]:
    apps = {name: load_app(name) for name in frameworks}
    notes = check_same_bytes(apps)
    work = [(w, template(w.method, w.path, w.query, w.body)) for w in WORKLOADS]
    samples: dict[tuple[str, str], list[float]] = {(f, w.key): [] for f in apps for w in WORKLOADS}
    names = list(apps)
    for rep in range(reps + 1):  # repetition 0 is a warm-up, not kept
        order = names[rep % len(names):] + names[: rep % len(names)]
        for name in order:
            for w, tmpl in work:
                us = time_batch(apps[name], environs(tmpl, w.body, batch), batch)
                if rep:
                    samples[(name, w.key)].append(us)
    floor = median([time_batch(_empty, environs(work[0][1], b"", batch), batch) for _ in range(reps)])
    med = {k: median(v) for k, v in samples.items()}
    return {"median_us": med, "reps": reps, "batch": batch, "notes": notes, "floor_us": floor,
            "frameworks": names}


def _empty(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [])
    return [b""]


def render(result: dict[str, Any]) -> str:
    med = result["median_us"]
    names = result["frameworks"]
    headers = ["workload", *(f"{LABELS[n]} µs" + ("" if n == "bare" else " (×bare)") for n in names)]
    rows = []
    for w in WORKLOADS:
        bare = med[("bare", w.key)]
        cells = [f"{w.key} {w.label}"]
        for n in names:
            us = med[(n, w.key)]
            cells.append(fmt_us(us) if n == "bare" else f"{fmt_us(us)} ({us / bare:.2f}×)")
        rows.append(cells)
    text = table(headers, rows)
    text += (f"\n\nMedian of {result['reps']} interleaved repetitions of {result['batch']} requests each; "
             f"the harness alone (a WSGI function that does nothing) costs {result['floor_us']:.2f} µs "
             f"per request and is inside every figure.")
    if "nextapi_async" in names:
        extra = [f"{w.key} +{med[('nextapi_async', w.key)] - med[('nextapi', w.key)]:.2f} µs "
                 f"({med[('nextapi_async', w.key)] / med[('nextapi', w.key)]:.2f}×)" for w in WORKLOADS[:3]]
        text += ("\n`async def` handlers against the same sync ones (each run on the worker thread's "
                 "event loop): " + ", ".join(extra) + ".")
    if "nextapi_batteries" in names:
        extra = [f"{w.key} +{med[('nextapi_batteries', w.key)] - med[('nextapi', w.key)]:.2f} µs "
                 f"({med[('nextapi_batteries', w.key)] / med[('nextapi', w.key)]:.2f}×)" for w in WORKLOADS]
        text += ("\n`App(middleware=[cors(...), sessions(...)])` around the same routes (CORS headers set, "
                 "the session read): " + ", ".join(extra) + ".")
    if result["notes"]:
        text += "\nSame status and body bytes everywhere; header differences: " + "; ".join(result["notes"]) + "."
    return text


if __name__ == "__main__":
    print(render(measure()))
