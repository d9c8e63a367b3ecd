"""HTTP grammar and constants shared along the data path: a leaf that imports no nextapi module.

Named once here so the parsers, the response and the servers agree on them
(Werkzeug keeps its header grammar in one such module too).
"""
from __future__ import annotations

CHUNK = 64 * 1024  # the largest single read of a request body or a file, and a stream's chunk
JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
BYTES_TYPE = "application/octet-stream"
# The environ key under which the app leaves an exception it turned into a 500, for the
# test client to raise again (Starlette's raise_server_exceptions) and for servers to log.
EXCEPTION_KEY = "nextapi.exception"
# A lone surrogate has no UTF-8 form (a client may send one as "\\ud800", a server as a bad byte).
# PERF: a pattern string, compiled by re (and cached) on its first use, in an except branch
# each time: a text that is not latin-1 or UTF-8 encodable (cold start: ~2 M instructions).
SURROGATES = "[\ud800-\udfff]"
# PERF: status lines built once, not per response.
# PERF: written out (http.HTTPStatus's, Python 3.11), not built from the enum: `http` stays unimported (cold start)
STATUS_LINES = {
    100: "100 Continue",
    101: "101 Switching Protocols",
    102: "102 Processing",
    103: "103 Early Hints",
    200: "200 OK",
    201: "201 Created",
    202: "202 Accepted",
    203: "203 Non-Authoritative Information",
    204: "204 No Content",
    205: "205 Reset Content",
    206: "206 Partial Content",
    207: "207 Multi-Status",
    208: "208 Already Reported",
    226: "226 IM Used",
    300: "300 Multiple Choices",
    301: "301 Moved Permanently",
    302: "302 Found",
    303: "303 See Other",
    304: "304 Not Modified",
    305: "305 Use Proxy",
    307: "307 Temporary Redirect",
    308: "308 Permanent Redirect",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    402: "402 Payment Required",
    403: "403 Forbidden",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    406: "406 Not Acceptable",
    407: "407 Proxy Authentication Required",
    408: "408 Request Timeout",
    409: "409 Conflict",
    410: "410 Gone",
    411: "411 Length Required",
    412: "412 Precondition Failed",
    413: "413 Request Entity Too Large",
    414: "414 Request-URI Too Long",
    415: "415 Unsupported Media Type",
    416: "416 Requested Range Not Satisfiable",
    417: "417 Expectation Failed",
    418: "418 I'm a Teapot",
    421: "421 Misdirected Request",
    422: "422 Unprocessable Entity",
    423: "423 Locked",
    424: "424 Failed Dependency",
    425: "425 Too Early",
    426: "426 Upgrade Required",
    428: "428 Precondition Required",
    429: "429 Too Many Requests",
    431: "431 Request Header Fields Too Large",
    451: "451 Unavailable For Legal Reasons",
    500: "500 Internal Server Error",
    501: "501 Not Implemented",
    502: "502 Bad Gateway",
    503: "503 Service Unavailable",
    504: "504 Gateway Timeout",
    505: "505 HTTP Version Not Supported",
    506: "506 Variant Also Negotiates",
    507: "507 Insufficient Storage",
    508: "508 Loop Detected",
    510: "510 Not Extended",
    511: "511 Network Authentication Required",
}


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


_HEXTOBYTE: dict[bytes, bytes] = {}  # b"2f" -> b"/", every case, made on the first escape


def unquote_to_bytes(string: str | bytes) -> bytes:
    """urllib.parse.unquote_to_bytes, the same algorithm (a malformed `%zz` is kept as written).

    PERF: urllib.parse is not imported at start-up: it brings ipaddress (cold start).
    """
    if isinstance(string, str):
        string = string.encode("utf-8")
    bits = string.split(b"%")
    if len(bits) == 1:
        return string
    table = _HEXTOBYTE or _hex_table()
    res = [bits[0]]
    append = res.append
    for item in bits[1:]:
        try:
            append(table[item[:2]])
            append(item[2:])
        except KeyError:
            append(b"%")
            append(item)
    return b"".join(res)


def _hex_table() -> dict[bytes, bytes]:
    digits = "0123456789ABCDEFabcdef"
    _HEXTOBYTE.update({(a + b).encode(): bytes.fromhex(a + b) for a in digits for b in digits})
    return _HEXTOBYTE
