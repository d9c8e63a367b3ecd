"""The dev-mode error page (R75): a 500 a browser asked for shows as HTML, not escaped JSON.

Only in dev mode (a traceback is never shown outside it, R41), and only when
the request's `Accept` prefers `text/html` to JSON, as a browser's does; curl,
fetch() and test clients keep getting the JSON error.
"""
from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (PERF: cold start); mypy reads the name
if TYPE_CHECKING:
    from ._types import Environ

_CONTEXT = 3  # source lines shown around each frame's line

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1f2328;background:#fff}
header{background:#b42318;color:#fff;padding:18px 24px}
header h1{margin:0;font-size:20px} header p{margin:6px 0 0;font-family:ui-monospace,monospace}
main{padding:16px 24px} h2{font-size:15px;margin:20px 0 8px}
.frame{border:1px solid #d0d7de;border-radius:6px;margin:10px 0;overflow:hidden}
.where{background:#f6f8fa;padding:6px 10px;font-family:ui-monospace,monospace;font-size:13px}
pre{margin:0;padding:6px 0;font:12.5px/1.5 ui-monospace,monospace;overflow-x:auto}
pre span{display:block;padding:0 10px;white-space:pre} pre .hot{background:#ffebe9;font-weight:600}
.raw{white-space:pre-wrap;background:#f6f8fa;padding:10px;border-radius:6px}
"""


def prefers_html(environ: Environ) -> bool:
    """Does `Accept` rank text/html above application/json (by q, the most specific range deciding)?"""
    accept = environ.get("HTTP_ACCEPT")
    if not accept or "html" not in accept:
        return False
    return _quality(accept, "text", "html") > _quality(accept, "application", "json")


def _quality(accept: str, major: str, minor: str) -> float:
    best, best_rank = 0.0, -1
    for item in accept.split(",")[:64]:
        media, *params = item.split(";")
        kind, _, sub = media.strip().lower().partition("/")
        rank = 2 if (kind, sub) == (major, minor) else 1 if (kind, sub) == (major, "*") else \
            0 if (kind, sub) == ("*", "*") else -1
        if rank < best_rank or rank < 0:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        best, best_rank = q, rank
    return best


def render(exc: BaseException, method: str, path: str) -> str:
    """The page: the exception, each frame of its traceback with source lines, the request."""
    import html  # PERF: dev-mode error pages only, not at import (cold start)
    import linecache
    import traceback

    frames = []
    for frame in traceback.extract_tb(exc.__traceback__):
        lines = []
        lineno = frame.lineno or 0
        for n in range(max(1, lineno - _CONTEXT), lineno + _CONTEXT + 1):
            text = linecache.getline(frame.filename, n)
            if text:
                hot = ' class="hot"' if n == lineno else ""
                lines.append(f"<span{hot}>{n:>5}  {html.escape(text.rstrip())}</span>")
        frames.append(f'<div class="frame"><div class="where">{html.escape(frame.filename)}, line {lineno}, '
                      f'in {html.escape(frame.name)}</div><pre>{"".join(lines)}</pre></div>')
    title = f"{type(exc).__name__}: {exc}"
    raw = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>500: {html.escape(type(exc).__name__)}</title><style>{_STYLE}</style></head><body>"
        f"<header><h1>500 Internal Server Error</h1><p>{html.escape(title)}</p></header><main>"
        f"<h2>Request</h2><p><code>{html.escape(method)} {html.escape(path)}</code></p>"
        f"<h2>Traceback</h2>{''.join(frames) or '<p>(no frames)</p>'}"
        f'<h2>As text</h2><pre class="raw">{html.escape(raw)}</pre>'
        "<p>This page is shown in dev mode only; in production the answer is "
        '<code>{"error": "Internal Server Error"}</code>.</p></main></body></html>'
    )
