"""HTTP grammar and constants shared along the data path: a leaf that imports no nextapi module.

Named once here so the parsers, the response and the servers agree on them
(Werkzeug keeps its header grammar in one such module too).
"""
from __future__ import annotations

import re
from http import HTTPStatus

CHUNK = 64 * 1024  # the largest single read of a request body or a file, and a stream's chunk
JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
BYTES_TYPE = "application/octet-stream"
# The environ key under which the app leaves an exception it turned into a 500, for the
# test client to raise again (Starlette's raise_server_exceptions) and for servers to log.
EXCEPTION_KEY = "nextapi.exception"
# A lone surrogate has no UTF-8 form (a client may send one as "\\ud800", a server as a bad byte).
SURROGATES = re.compile("[\ud800-\udfff]")
# PERF: status lines built once, not per response.
STATUS_LINES = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}


def status_line(status: int) -> str:
    return STATUS_LINES.get(status) or f"{status} Unknown"


def media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """``'Text/Plain; Charset="latin-1"'`` -> ``('text/plain', {'charset': 'latin-1'})``."""
    if not content_type:
        return "", {}
    media, *rest = content_type.split(";")
    params: dict[str, str] = {}
    for item in rest:
        key, eq, val = item.partition("=")
        key = key.strip().lower()
        if eq and key and key not in params:
            val = val.strip()
            if len(val) > 1 and val[0] == val[-1] == '"':
                val = val[1:-1]
            params[key] = val
    return media.strip().lower(), params
