"""Hostile requests, one table row each (issue 5).

Every row is sent to a real App and must pass the same five checks
(hostile_harness.check_row):

1. the app never raises, and the exchange passes ``wsgiref.validate``
   (rows with a malformed ``Content-Length`` cannot: the validator itself
   asserts ``int(CONTENT_LENGTH) >= 0``, so they go through ``strict_call``,
   which applies its status, header and body rules without that assert);
2. the status is the row's (a 500 only where the row says so), and any
   ``Content-Length`` is exact; errors are ``{"error": "..."}`` JSON;
3. no traceback, file path or echo of the hostile input in the body;
4. when refused before the handler, no handler or middleware ran and not a
   byte of input was read (a counting ``wsgi.input``);
5. a normal request afterwards still answers 200.

And after every row, none of the canary modules (private, hidden, cached,
symlinked out of the folder) has been imported.
"""
from __future__ import annotations

import base64
import json

import pytest

from nextapi import App
from nextapi import sessions
from tests.hostile.hostile_harness import (
    API_TOKEN,
    MB,
    SESSION_SECRET,
    Result,
    Row,
    build_tree,
    check_row,
    send,
)

JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
BND = "hostile-b0undary"
MP = {"content-type": f"multipart/form-data; boundary={BND}"}
PROBE = b'{"probe": 1}'


def part(name: str, data: bytes = b"v", filename: str | None = None, extra: str = "") -> bytes:
    disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    return f"--{BND}\r\nContent-Disposition: {disp}\r\n{extra}\r\n".encode() + data + b"\r\n"


def mp(*parts: bytes, close: bool = True) -> bytes:
    return b"".join(parts) + (f"--{BND}--\r\n".encode() if close else b"")


def hidden(id: str, path: str, **kw) -> Row:
    """A path that must 404 before any handler runs, in prod and in dev mode."""
    return Row(id, 404, path=path, method="POST", body=PROBE, headers=JSON, before_handler=True,
               error="Not Found", modes=("prod", "dev"), **kw)


def expect(**want):
    def check(res: Result) -> None:
        got = res.json()
        for key, value in want.items():
            assert got[key] == value, (key, got[key], value)
    return check


def location(expected: str):
    def check(res: Result) -> None:
        loc = res.header("Location")
        assert loc == expected, loc
        assert loc.startswith("/") and loc[1:2] not in ("/", "\\"), "an off-site redirect"
    return check


def no_header(*names: str):
    def check(res: Result) -> None:
        present = {k.lower() for k, _ in res.headers}
        for name in names:
            assert name.lower() not in present, (name, res.headers)
    return check


def deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


def cookies_header(n: int, first: str = "__Host-sid=good") -> str:
    return "; ".join([first] + [f"c{i}=v{i}" for i in range(n - 1)])


LONG_QUERY = "q=" + "x" * (8 * 1024 - 2)

# R102: cookies for /api/session, signed with its secret (or not quite).
SIGNER = sessions(SESSION_SECRET)
SIGNED = SIGNER.encode({"user": 1})
_PAYLOAD, _ISSUED, _SIG = SIGNED.split(".")
_EVIL = base64.urlsafe_b64encode(b'{"admin":true}').rstrip(b"=").decode()
FORGED = f"{_EVIL}.{_ISSUED}.{_SIG}"  # another payload under the real signature


def session_keys(*keys: str):
    """The session the route saw, and no Set-Cookie: reading a session never writes one."""
    def check(res: Result) -> None:
        assert res.json() == {"keys": list(keys)}, res.json()
        no_header("Set-Cookie")(res)
    return check


def challenge(value: str):
    def check(res: Result) -> None:
        assert res.header("WWW-Authenticate") == value, res.headers
    return check


def unauthorized(id: str, path: str, headers: dict[str, str], www: str, **kw) -> Row:
    """Credentials that must be refused before the handler runs, nothing of them echoed."""
    return Row(id, 401, path=path, headers=headers, before_handler=True, error="Unauthorized",
               check=challenge(www), **kw)


BEARER, BASIC, KEY = "/api/auth/bearer", "/api/auth/basic", "/api/auth/key"
BASIC_WWW = 'Basic realm="api"'
KEY_WWW = 'APIKey header="X-API-Key"'


def basic_of(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()

APP_ORIGIN = "https://app.example"
CORS_PATH = "/api/cors/item"  # cors([APP_ORIGIN]) in its _middleware.py


def cors_preflight(id: str, request_headers: str, *, echo: str | None = None, needle: bytes = b"") -> Row:
    """A preflight from the allowed origin: answered 204 by cors() before the handler, with the
    requested headers echoed only when they are a short list of header names."""
    def check(res: Result) -> None:
        assert res.header("Access-Control-Allow-Origin") == APP_ORIGIN, res.headers
        assert res.header("Access-Control-Allow-Methods") == "GET, HEAD, OPTIONS, POST", res.headers
        assert res.header("Access-Control-Allow-Headers") == echo, res.headers
        no_header("Set-Cookie", "Content-Type", "Content-Length")(res)
        if needle:
            for name, value in res.headers:
                assert needle not in value.encode("latin-1"), f"{name} echoes the hostile list: {value[:200]!r}"
    headers = {"origin": APP_ORIGIN, "access-control-request-method": "POST",
               "access-control-request-headers": request_headers}
    return Row(id, 204, method="OPTIONS", path=CORS_PATH, headers=headers, before_handler=True,
               needles=(needle,) if needle else (), check=check, modes=("prod", "dev"))


def cors_refused(id: str, origin: str) -> Row:
    """An Origin no browser sends: no CORS header, and the preflight is the route's plain OPTIONS."""
    def check(res: Result) -> None:
        no_header("Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
                  "Set-Cookie")(res)
        assert res.header("Allow") == "GET, HEAD, OPTIONS, POST", res.headers
    headers = {"origin": origin, "access-control-request-method": "POST",
               "access-control-request-headers": "content-type"}
    return Row(id, 204, method="OPTIONS", path=CORS_PATH, headers=headers, before_handler=True, check=check)

ROWS: list[Row] = [
    # -- routing: hidden files, traversal, odd bytes (prod and dev) ------------------------
    hidden("dotdot-param", "/api/items/.."),
    hidden("dot-param", "/api/items/."),
    hidden("dotdot-middle", "/api/../api/ok"),
    hidden("dotdot-encoded", "/api/%2e%2e/ok"),
    hidden("dotdot-encoded-upper", "/api/items/%2E%2E"),
    hidden("dotdot-catchall", "/api/files/a/../../ok"),
    hidden("dotdot-etc-passwd", "/api/items/../../../../etc/passwd"),
    hidden("nul-param", "/api/items/%00"),
    hidden("nul-static", "/api/ok%00"),
    hidden("nul-then-py", "/api/ok%00.py"),
    hidden("backslash-param", "/api/items/a%5Cb"),
    hidden("backslash-static", "/api%5Cok"),
    hidden("backslash-traversal", "/api/items/..%5C..%5Cetc"),
    hidden("py-suffix", "/api/ok.py"),
    hidden("py-suffix-param", "/api/items/x.py"),
    hidden("pyc-suffix", "/api/ok.pyc"),
    hidden("py-suffix-upper", "/api/ok.PY"),
    hidden("py-suffix-catchall", "/api/files/a/b.py"),
    hidden("pycache", "/api/__pycache__/cached"),
    hidden("pycache-param", "/api/items/__pycache__"),
    hidden("private", "/api/_private"),
    hidden("private-folder", "/api/_lib/helper"),
    hidden("dotfile", "/api/.hidden"),
    hidden("dotfile-param", "/api/items/.env"),
    hidden("symlink-file-out", "/api/escape"),
    hidden("symlink-dir-out", "/api/linked/inner"),
    hidden("data-file", "/api/data.json"),
    hidden("data-file-stem", "/api/data"),
    hidden("tab-in-segment", "/api/items/a%09b"),
    hidden("newline-in-segment", "/api/items/a%0D%0Ab"),
    hidden("del-in-segment", "/api/items/a%7Fb"),
    hidden("upper-case-prefix", "/API/ok"),
    hidden("api-prefix-lookalike", "/api-ok"),
    hidden("double-leading-slash", "//api/ok"),
    hidden("empty-segment", "/api//ok"),
    hidden("long-path", "/api/" + "a" * 100_000),
    hidden("many-segments", "/api/" + "x/" * 5000 + "y"),
    Row("not-utf8-path", 400, path="/api/items/%FF", method="POST", body=PROBE, headers=JSON,
        before_handler=True, error="Invalid path: not UTF-8", modes=("prod", "dev")),
    Row("overlong-utf8-dots", 400, path="/api/%C0%AE%C0%AE/ok", before_handler=True, modes=("prod", "dev")),
    Row("path-not-latin1", 400, path_info="/api/\udcff", before_handler=True, modes=("prod", "dev")),
    Row("fullwidth-dots-are-text", 200, path="/api/items/%EF%BC%8E%EF%BC%8E", check=expect(id=2)),
    Row("deep-catchall", 200, path="/api/files/" + "a/" * 3000 + "b", check=expect(n=3001)),
    Row("middleware-symlinked-out-not-imported", 200, path="/api/sub/page", check=expect(sub=True),
        modes=("prod", "dev")),
    # -- redirects: never off-site -----------------------------------------------------
    Row("redirect-protocol-relative", 308, path="//evil.com/", check=location("/evil.com")),
    Row("redirect-triple-slash", 308, path="///evil.com//", check=location("/evil.com")),
    Row("redirect-encoded-slashes", 308, path="/%2F%2Fevil.com/", check=location("/evil.com")),
    Row("redirect-backslash", 308, path="/%5Cevil.com/", check=location("/%5Cevil.com")),
    Row("redirect-tab", 308, path="/%09/evil.com/", check=location("/%09/evil.com")),
    Row("redirect-query-kept", 308, path="/api/ok/", query="next=//evil.com",
        check=location("/api/ok?next=//evil.com")),
    Row("redirect-crlf-query", 308, path="/api/ok/", query="a=\r\nSet-Cookie: x=1",
        check=lambda r: (location("/api/ok?a=%0D%0ASet-Cookie:%20x=1")(r), no_header("Set-Cookie")(r))),
    Row("redirect-long-query", 414, path="/api/ok/", query=LONG_QUERY + "x", before_handler=True),
    Row("redirect-hidden-first", 404, path="/api/items/../", before_handler=True),
    Row("redirect-head", 308, method="HEAD", path="//evil.com/", check=location("/evil.com")),
    # -- methods ----------------------------------------------------------------------
    Row("method-trace", 405, method="TRACE", path="/api/methods", before_handler=True,
        check=lambda r: r.header("Allow") == "GET, HEAD, OPTIONS, POST" or pytest.fail(r.header("Allow"))),
    Row("method-delete-with-body", 405, method="DELETE", path="/api/methods", body=PROBE,
        headers=JSON, before_handler=True),
    Row("method-propfind", 405, method="PROPFIND", path="/api/methods", before_handler=True,
        unknown_method=True),
    Row("method-huge-name", 405, method="X" * 4096, path="/api/methods", before_handler=True,
        unknown_method=True, needles=(b"XXXX",)),
    Row("method-connect", 405, method="CONNECT", path="/api/methods", before_handler=True,
        unknown_method=True),
    Row("method-head-no-body", 200, method="HEAD", path="/api/methods",
        check=lambda r: r.header("Content-Length") == "11" or pytest.fail(r.header("Content-Length"))),
    Row("method-head-404", 404, method="HEAD", path="/api/nope", before_handler=True),
    Row("method-options", 204, method="OPTIONS", path="/api/methods", before_handler=True,
        check=no_header("Content-Length", "Content-Type")),
    # -- query strings ----------------------------------------------------------------
    Row("query-too-long", 414, query=LONG_QUERY + "x", before_handler=True,
        error="Query string too long", needles=(b"xxxx",)),
    Row("query-at-limit", 200, query=LONG_QUERY, check=expect(query=1)),
    Row("query-too-many-fields", 400, query="&".join(["zq9=1"] * 1001), error="Too many fields",
        needles=(b"zq9",)),
    Row("query-fields-at-limit", 200, query="&".join(f"k{i}=1" for i in range(1000)), check=expect(query=1000)),
    Row("query-only-ampersands", 200, query="&" * 8000, check=expect(query=0)),
    Row("query-only-equals", 200, query="=" * 8000, check=expect(query=1)),
    Row("query-malformed-escapes", 200, query="a=%ZZ&b=%&c=%4&%%%=1", check=expect(query=4)),
    Row("query-not-utf8", 200, query="a=%ff%fe%80&%c0%ae=1", check=expect(query=2)),
    Row("query-nul", 200, query="a=%00&%00=b", check=expect(query=2)),
    Row("query-not-latin1-str", 200, query="q=\u2603", check=expect(query=1)),
    Row("query-lone-surrogate", 200, query="q=\udcff", check=expect(query=1)),
    Row("query-proto-keys", 200, query="__proto__=1&constructor=2&a[]=3&a[b][c]=4", check=expect(query=4)),
    # -- cookies ----------------------------------------------------------------------
    Row("cookie-7000-backslashes", 200, headers={"cookie": 'a="' + "\\" * 7000 + '"; __Host-sid=good'},
        check=expect(cookies=2, host_sid="good")),
    Row("cookie-quote-never-swallows", 200, headers={"cookie": 'a="x; __Host-sid=good; c="'},
        check=expect(host_sid="good", a='"x')),
    Row("cookie-nbsp-lookalike", 200,
        headers={"cookie": "\xc2\xa0__Host-sid=evil1; __Host-sid=good"}, check=expect(host_sid="good")),
    Row("cookie-case-lookalike", 200, headers={"cookie": "__host-sid=evil1; __Host-sid=good"},
        check=expect(host_sid="good")),
    Row("cookie-duplicate-first-wins", 200, headers={"cookie": "__Host-sid=good; __Host-sid=evil1"},
        check=expect(host_sid="good")),
    Row("cookie-not-utf8", 200, headers={"cookie": "a=\xff\xfe; b=\x80; __Host-sid=good"},
        check=expect(host_sid="good")),
    Row("cookie-control-chars", 200, headers={"cookie": "a=\x00\x01; b=\x7f; __Host-sid=good"},
        check=expect(host_sid="good")),
    Row("cookie-header-over-8kb", 200, headers={"cookie": cookies_header(2, "__Host-sid=good") + "; z=" + "p" * 9000},
        check=expect(host_sid="good", cookies=2)),
    Row("cookie-150-cookies", 200, headers={"cookie": cookies_header(150)}, check=expect(cookies=100, host_sid="good")),
    Row("cookie-one-huge", 200, headers={"cookie": "a=" + "x" * 50_000}, check=expect(cookies=0)),
    Row("cookie-garbage", 200, headers={"cookie": ";;;;=;=;a;b=;==;\t; ="}, check=expect(cookies=1)),
    Row("cookie-bad-escapes", 200, headers={"cookie": "a=%E0%A4%A"}, check=expect(a="%E0%A4%A")),
    Row("cookie-comma-is-value", 200, headers={"cookie": "a=1,__Host-sid=evil1"}, check=expect(a="1,__Host-sid=evil1",
                                                                                          host_sid=None)),
    # -- signed session cookies (R102): never an error, never a write -------------------
    Row("session-valid", 200, path="/api/session", headers={"cookie": f"session={SIGNED}"}, check=session_keys("user")),
    Row("session-forged-payload", 200, path="/api/session", headers={"cookie": f"session={FORGED}"},
        check=session_keys()),
    Row("session-forged-signature", 200, path="/api/session",
        headers={"cookie": f"session={_PAYLOAD}.{_ISSUED}.{'A' * 43}"}, check=session_keys()),
    Row("session-expired", 200, path="/api/session",
        headers={"cookie": f"session={SIGNER.encode({'user': 1}, issued=1)}"}, check=session_keys()),
    Row("session-truncated", 200, path="/api/session", headers={"cookie": f"session={SIGNED[:-1]}"},
        check=session_keys()),
    Row("session-garbage", 200, path="/api/session", headers={"cookie": "session=%00%ff<script>..%2e"},
        check=session_keys(), needles=(b"<script>",)),
    Row("session-only-dots", 200, path="/api/session", headers={"cookie": "session=" + "." * 7000},
        check=session_keys()),
    Row("session-near-limit-garbage", 200, path="/api/session",
        headers={"cookie": "session=" + "A" * 7000 + "." + _ISSUED + "." + _SIG}, check=session_keys()),
    Row("session-huge", 200, path="/api/session", headers={"cookie": "session=" + "A" * 100_000},
        check=session_keys()),
    Row("session-huge-issued", 200, path="/api/session",
        headers={"cookie": f"session={_PAYLOAD}.{'9' * 5000}.{_SIG}"}, check=session_keys()),
    Row("session-not-latin1", 200, path="/api/session", headers={"cookie": "session=\u2603.\udcff"},
        check=session_keys()),
    Row("session-duplicate-first-wins", 200, path="/api/session",
        headers={"cookie": f"session={SIGNED}; session={FORGED}"}, check=session_keys("user")),
    Row("session-too-large", 500, path="/api/session", query="k=big", error="Internal Server Error",
        check=no_header("Set-Cookie"), needles=(b"xxxx",)),
    # -- credentials (R103): a 401 with the challenge, before the handler, nothing echoed -----
    Row("auth-bearer-ok", 200, path=BEARER, headers={"authorization": f"Bearer {API_TOKEN}"}, check=expect(user="svc")),
    unauthorized("auth-bearer-missing", BEARER, {}, "Bearer"),
    unauthorized("auth-bearer-wrong", BEARER, {"authorization": "Bearer wrong-token"}, "Bearer", needles=(b"wrong",)),
    unauthorized("auth-bearer-huge", BEARER, {"authorization": "Bearer " + "a" * 100_000}, "Bearer",
                 needles=(b"aaaa",)),
    unauthorized("auth-bearer-scheme-only-huge", BEARER, {"authorization": "B" * 100_000}, "Bearer",
                 needles=(b"BBBB",)),
    unauthorized("auth-bearer-many-spaces", BEARER, {"authorization": "Bearer" + " " * 8000 + "x"}, "Bearer"),
    unauthorized("auth-bearer-list", BEARER, {"authorization": f"Bearer {API_TOKEN}, Bearer x"}, "Bearer"),
    unauthorized("auth-bearer-crlf", BEARER, {"authorization": f"Bearer {API_TOKEN}\r\nSet-Cookie: a=1"}, "Bearer",
                 needles=(b"Set-Cookie",)),
    unauthorized("auth-bearer-nul", BEARER, {"authorization": f"Bearer {API_TOKEN}\x00"}, "Bearer"),
    unauthorized("auth-bearer-not-latin1", BEARER, {"authorization": "Bearer \u2603\udcff"}, "Bearer"),
    unauthorized("auth-bearer-not-utf8", BEARER, {"authorization": "Bearer \xff\xfe"}, "Bearer"),
    unauthorized("auth-bearer-wrong-scheme", BEARER, {"authorization": f"Token {API_TOKEN}"}, "Bearer"),
    Row("auth-basic-ok", 200, path=BASIC, headers={"authorization": basic_of(f"ada:{API_TOKEN}".encode())},
        check=expect(user="ada")),
    unauthorized("auth-basic-missing", BASIC, {}, BASIC_WWW),
    unauthorized("auth-basic-wrong", BASIC, {"authorization": basic_of(b"ada:guess")}, BASIC_WWW, needles=(b"guess",)),
    unauthorized("auth-basic-bad-base64", BASIC, {"authorization": "Basic !!!<script>"}, BASIC_WWW,
                 needles=(b"<script>",)),
    unauthorized("auth-basic-huge", BASIC, {"authorization": "Basic " + "QUFB" * 25_000}, BASIC_WWW),
    unauthorized("auth-basic-padding-only", BASIC, {"authorization": "Basic " + "=" * 8000}, BASIC_WWW),
    unauthorized("auth-basic-no-colon", BASIC, {"authorization": basic_of(b"ada")}, BASIC_WWW),
    unauthorized("auth-basic-not-utf8", BASIC, {"authorization": basic_of(b"\xff\xfe:\xc0\xae")}, BASIC_WWW),
    unauthorized("auth-basic-nul", BASIC, {"authorization": basic_of(b"ada\x00:" + API_TOKEN.encode())}, BASIC_WWW),
    unauthorized("auth-basic-crlf", BASIC, {"authorization": basic_of(b"ada:x\r\nSet-Cookie: a=1")}, BASIC_WWW),
    unauthorized("auth-basic-huge-decoded", BASIC, {"authorization": basic_of(b"a:" + b"p" * 6000)}, BASIC_WWW),
    Row("auth-key-ok", 200, path=KEY, headers={"x-api-key": API_TOKEN}, check=expect(user="svc")),
    unauthorized("auth-key-missing", KEY, {}, KEY_WWW),
    unauthorized("auth-key-wrong", KEY, {"x-api-key": "wrong-key"}, KEY_WWW, needles=(b"wrong",)),
    unauthorized("auth-key-huge", KEY, {"x-api-key": "k" * 100_000}, KEY_WWW, needles=(b"kkkk",)),
    unauthorized("auth-key-control", KEY, {"x-api-key": "a\x00b\x7f"}, KEY_WWW),
    unauthorized("auth-key-not-latin1", KEY, {"x-api-key": "\u2603\udcff"}, KEY_WWW),
    unauthorized("auth-key-spaces", KEY, {"x-api-key": f"{API_TOKEN} {API_TOKEN}"}, KEY_WWW),
    # -- JSON bodies ------------------------------------------------------------------
    Row("json-malformed", 400, method="POST", headers=JSON, body=b"{bad\x00<script>", error="Invalid JSON",
        needles=(b"{bad", b"<script>")),
    Row("json-depth-65", 400, method="POST", headers=JSON, body=deep(65), error="Invalid JSON"),
    Row("json-depth-64", 200, method="POST", headers=JSON, body=deep(64), check=expect(body="list")),
    Row("json-100k-brackets", 400, method="POST", headers=JSON, body=b"[" * 100_000, error="Invalid JSON"),
    Row("json-50k-objects", 400, method="POST", headers=JSON, body=b'{"a":' * 50_000, error="Invalid JSON"),
    Row("json-escaped-quote-trick", 400, method="POST", headers=JSON,
        body=b'["\\\\"' + b",[" * 70 + b"]" * 70 + b"]", error="Invalid JSON"),
    Row("json-brackets-in-strings", 200, method="POST", headers=JSON, body=b'["' + b"[{" * 500 + b'"]',
        check=expect(body="list")),
    Row("json-nan", 400, method="POST", headers=JSON, body=b"[NaN]"),
    Row("json-infinity", 400, method="POST", headers=JSON, body=b'{"a": -Infinity}'),
    Row("json-huge-int", 400, method="POST", headers=JSON, body=b"9" * 5000),
    Row("json-not-utf8", 400, method="POST", headers=JSON, body=b'{"a": "\xff\xfe"}'),
    Row("json-bom", 200, method="POST", headers=JSON, body=b'\xef\xbb\xbf{"a": 1}', check=expect(body="dict")),
    Row("json-lone-surrogate", 200, method="POST", headers=JSON, body=b'["\\ud800"]', check=expect(body="list")),
    Row("json-plus-json-deep", 400, method="POST", headers={"content-type": "application/vnd.x+json"},
        body=deep(100)),
    Row("json-over-limit", 413, method="POST", headers=JSON, body=b"[" + b"1," * (MB // 2) + b"1]",
        before_handler=True, error="Body exceeded 1mb limit"),
    Row("json-chunked-over-limit", 413, method="POST", headers=JSON, body=b" " * (MB + 10) + b"{}",
        chunked=True, max_read=MB + 1, error="Body exceeded 1mb limit"),
    Row("json-at-limit", 200, method="POST", headers=JSON, body=b'"' + b"a" * (MB - 2) + b'"',
        check=expect(body="str", size=MB - 2)),
    Row("json-whitespace-only", 400, method="POST", headers=JSON, body=b" \r\n\t ", error="Invalid JSON"),
    Row("json-number-out-of-range", 400, method="POST", headers=JSON, body=b'{"a": 1e400}', error="Invalid JSON"),
    # -- urlencoded forms and text ------------------------------------------------------
    Row("form-too-many-fields", 400, method="POST", headers=FORM, body=b"&".join([b"zq9=1"] * 1001),
        error="Too many fields", needles=(b"zq9",)),
    Row("form-fields-at-limit", 200, method="POST", headers=FORM,
        body="&".join(f"k{i}=1" for i in range(1000)).encode(), check=expect(size=1000)),
    Row("form-only-ampersands", 200, method="POST", headers=FORM, body=b"&" * 100_000, check=expect(size=0)),
    Row("form-malformed", 200, method="POST", headers=FORM, body=b"a=%ZZ&%ff=%fe&=&&b", check=expect(size=4)),
    Row("form-over-limit", 413, method="POST", headers=FORM, body=b"a=" + b"b" * MB, before_handler=True),
    Row("text-charset-too-long", 400, method="POST", headers={"content-type": "text/plain; charset=" + "x" * 100},
        body=b"hi", error="Invalid body", needles=(b"xxxx",)),
    Row("text-charset-not-text", 400, method="POST", headers={"content-type": "text/plain; charset=rot13"},
        body=b"hi", error="Invalid body"),
    Row("text-not-utf8", 400, method="POST", headers={"content-type": "text/plain"}, body=b"<p>\xff\xfe",
        error="Invalid body", needles=(b"<p>",)),
    Row("text-utf16-odd", 400, method="POST", headers={"content-type": "text/plain; charset=utf-16"},
        body=b"abc", error="Invalid body"),
    # -- multipart ----------------------------------------------------------------------
    Row("multipart-no-boundary", 400, method="POST", headers={"content-type": "multipart/form-data"},
        body=mp(part("a")), max_read=0),
    Row("multipart-boundary-too-long", 400, method="POST",
        headers={"content-type": "multipart/form-data; boundary=" + "b" * 71}, body=mp(part("a")), max_read=0),
    Row("multipart-boundary-nul", 400, method="POST",
        headers={"content-type": "multipart/form-data; boundary=a\x00b"}, body=mp(part("a")), max_read=0),
    Row("multipart-unterminated", 400, method="POST", headers=MP, body=mp(part("a"), close=False),
        error="Invalid multipart body: unterminated body"),
    Row("multipart-truncated-part", 400, method="POST", headers=MP, body=part("a", b"x" * 1000)[:-30]),
    Row("multipart-no-disposition", 400, method="POST", headers=MP,
        body=f"--{BND}\r\nContent-Type: text/plain\r\n\r\nx\r\n--{BND}--\r\n".encode()),
    Row("multipart-no-name", 400, method="POST", headers=MP,
        body=f"--{BND}\r\nContent-Disposition: form-data; filename=x\r\n\r\nx\r\n--{BND}--\r\n".encode()),
    Row("multipart-header-9kb", 400, method="POST", headers=MP,
        body=mp(part("a", extra="X-Pad: " + "p" * 9000 + "\r\n")), needles=(b"ppp",)),
    Row("multipart-header-never-ends", 400, method="POST", headers=MP,
        body=f"--{BND}\r\nContent-Disposition: form-data; name=a; x=".encode() + b"y" * 20_000),
    Row("multipart-1001-parts", 400, method="POST", headers=MP, body=mp(*[part("zq9")] * 1001),
        error="Too many fields"),
    Row("multipart-1000-parts", 200, method="POST", headers=MP, body=mp(*[part(f"f{i}") for i in range(1000)]),
        check=expect(size=1000)),
    Row("multipart-empty-body", 200, method="POST", headers=MP, body=b"", check=expect(body="dict", size=0)),
    Row("multipart-close-only", 200, method="POST", headers=MP, body=mp(), check=expect(body="dict", size=0)),
    Row("multipart-delimiter-garbage", 400, method="POST", headers=MP, body=f"--{BND}garbage\r\n".encode()),
    Row("multipart-lf-only", 400, method="POST", headers=MP,
        body=f"--{BND}\nContent-Disposition: form-data; name=a\n\nx\n--{BND}--\n".encode()),
    Row("multipart-filename-traversal", 200, method="POST", headers=MP,
        body=mp(part("f", b"x", filename="../../../etc/passwd"), part("g", b"y", filename="..\\..\\boot.ini")),
        check=expect(files=2)),
    Row("multipart-filename-nul-crlf", 200, method="POST", headers=MP,
        body=mp(part("f", b"x", filename="a\x00b%0D%0A.txt")), check=expect(files=1)),
    Row("multipart-preamble-epilogue", 200, method="POST", headers=MP,
        body=b"preamble\r\n" + mp(part("a")) + b"epilogue --" + BND.encode(), check=expect(size=1)),
    Row("multipart-near-delimiters", 200, method="POST", headers=MP,
        body=mp(part("f", (b"\r\n--" + BND[:-1].encode()) * 40_000, filename="f")), check=expect(files=1)),
    Row("multipart-over-limit", 413, method="POST", headers=MP, body=mp(part("f", b"x" * MB, filename="f")),
        before_handler=True),
    Row("multipart-chunked-over-limit", 413, method="POST", headers=MP, chunked=True,
        body=mp(part("f", b"x" * (MB + 100), filename="f")), max_read=MB + 1),
    Row("multipart-upload-spooled", 200, method="POST", path="/api/big", headers=MP,
        body=mp(part("f", b"x" * (2 * MB), filename="f")), check=expect(files=1)),
    Row("multipart-field-too-large", 413, method="POST", path="/api/big", headers=MP,
        body=mp(part("f", b"x" * (MB + 1))), error="Form field too large"),
    Row("multipart-mixed-is-bytes", 200, method="POST", headers={"content-type": f"multipart/mixed; boundary={BND}"},
        body=mp(part("a")), check=expect(body="bytes", files=0)),
    # -- Content-Length ---------------------------------------------------------------------
    *[Row(f"content-length-{name}", 400, method="POST", headers=JSON, body=PROBE, content_length=value,
          raw=True, before_handler=True, error="Invalid Content-Length")
      for name, value in [("plus", "+1"), ("underscore", "1_0"), ("negative", "-1"), ("letters", "abc"),
                          ("arabic-digit", "\xd9\xa1"), ("superscript", "\xc2\xb2"), ("leading-space", " 12"),
                          ("trailing-space", "12 "), ("hex", "0x10"), ("exponent", "1e3"), ("list", "12, 12"),
                          ("float", "12.0")]],
    Row("content-length-huge", 413, method="POST", headers=JSON, body=PROBE, content_length="9" * 40,
        before_handler=True),
    Row("content-length-zeros", 200, method="POST", headers={"content-type": "text/plain"}, body=b"hello",
        content_length="0000000000000000000000005", check=expect(body="str", size=5)),
    Row("content-length-short-body", 400, method="POST", headers=JSON, body=b"{}", content_length="100",
        error="Invalid body: incomplete"),
    # R24: chunked input a server passed on unterminated (uWSGI): a 411, never a body dropped
    Row("chunked-not-terminated", 411, method="POST", headers={**JSON, "transfer-encoding": "chunked"},
        body=PROBE, content_length=None, before_handler=True, error="Length Required"),
    Row("chunked-not-terminated-odd-case", 411, method="PUT", path="/api/big",
        headers={"transfer-encoding": "gzip, Chunked"}, body=PROBE, content_length=None, before_handler=True),
    # R10: the method is decided before the body limit
    Row("put-2mb-to-get-post-route", 405, method="PUT", path="/api/methods", headers=JSON, body=b"x" * (2 * MB),
        before_handler=True, error="Method Not Allowed", check=lambda r: _allow(r, "GET, HEAD, OPTIONS, POST")),
    # R31: a lone surrogate a client sent comes back escaped, as valid UTF-8
    # R100: X-Forwarded-For from a peer that is not a trusted proxy is ignored, however it is shaped
    *[Row(f"xff-spoofed-{name}", 200, path="/api/ip", headers={"x-forwarded-for": value},
          check=expect(ip="127.0.0.1"), modes=("prod", "dev"))
      for name, value in [("plain", "1.2.3.4"), ("list", "10.0.0.1, 1.2.3.4"), ("trusted-looking", "10.0.0.9"),
                          ("huge", "1.2.3.4, " * 4000 + "5.6.7.8"), ("garbage", "<script>, ;;, \u00ff"),
                          ("ipv6", "[::1], 2001:db8::1")]],
    Row("json-lone-surrogate-echoed", 200, method="POST", path="/api/mirror", headers=JSON, body=b'{"a": "\\ud800x"}',
        check=lambda r: _utf8_json(r, {"a": "\ud800x"})),
    Row("content-length-smaller-than-body", 400, method="POST", headers=JSON, body=b'{"a": 1}',
        content_length="4", max_read=4, error="Invalid JSON"),
    Row("no-length-not-terminated", 200, method="POST", headers=JSON, body=PROBE, content_length=None,
        max_read=0, check=expect(body="NoneType")),
    Row("content-length-empty", 200, method="POST", headers=JSON, body=PROBE, content_length="",
        max_read=0, check=expect(body="NoneType")),
    Row("content-length-on-404", 404, method="POST", path="/api/nope", headers=JSON, body=b"x" * (2 * MB),
        before_handler=True),
    # -- headers ----------------------------------------------------------------------------
    Row("content-type-10k-params", 200, method="POST", headers={"content-type": "text/plain" + "; a=b" * 10_000},
        body=b"hi", check=expect(body="str")),
    Row("content-type-nul", 200, method="POST", headers={"content-type": "application/json\x00"}, body=b"[1]",
        check=expect(body="bytes")),
    Row("if-none-match-10k", 200, path="/api/ok", headers={"if-none-match": ", ".join(['"x"'] * 10_000)}),
    Row("header-100kb", 200, headers={"x-big": "v" * 100_000}),
    # -- CORS preflights with hostile Access-Control-Request-Headers: never echoed ----------------
    cors_preflight("cors-request-headers-fine", "Content-Type, X-Token", echo="content-type, x-token"),
    cors_preflight("cors-request-headers-100kb", "x-zq9," * 20_000, needle=b"x-zq9"),
    cors_preflight("cors-request-headers-one-huge-name", "zq9" * 30_000, needle=b"zq9zq9"),
    cors_preflight("cors-request-headers-500-names", ", ".join(f"x-zq{i}" for i in range(500)), needle=b"x-zq"),
    cors_preflight("cors-request-headers-crlf", "x-zq9\r\nSet-Cookie: evil=1", needle=b"evil"),
    cors_preflight("cors-request-headers-lf", "x-zq9\nX-Injected: 1", needle=b"Injected"),
    cors_preflight("cors-request-headers-cr", "x-zq9\rX-Injected: 1", needle=b"Injected"),
    cors_preflight("cors-request-headers-nul", "x-zq9\x00x-b", needle=b"zq9"),
    cors_preflight("cors-request-headers-script", "x-a, <script>alert(1)</script>", needle=b"script"),
    cors_preflight("cors-request-headers-space-in-name", "x zq9, b", needle=b"zq9"),
    cors_preflight("cors-request-headers-quoted", '"x-zq9"', needle=b"zq9"),
    cors_preflight("cors-request-headers-colon", "x-zq9: 1", needle=b"zq9"),
    cors_preflight("cors-request-headers-latin1", "x-zq9\xe9", needle=b"zq9"),
    cors_preflight("cors-request-headers-only-commas", "," * 10_000),
    # -- and Origins no browser sends: refused, never echoed ------------------------------------------
    cors_refused("cors-origin-crlf", APP_ORIGIN + "\r\nSet-Cookie: evil=1"),
    cors_refused("cors-origin-two-joined", APP_ORIGIN + "," + APP_ORIGIN),
    cors_refused("cors-origin-with-path", APP_ORIGIN + "/x"),
    cors_refused("cors-origin-100kb", "https://" + "a" * 100_000 + ".example"),
    cors_refused("cors-origin-lookalike", "https://app.example.evil.example"),
    Row("cors-error-keeps-the-headers", 405, method="PUT", path=CORS_PATH, headers={"origin": APP_ORIGIN},
        body=PROBE, before_handler=True,
        check=lambda r: r.header("Access-Control-Allow-Origin") == APP_ORIGIN or pytest.fail(str(r.headers))),
    # -- errors: a clean 500, nothing leaked ---------------------------------------------------
    Row("error-exception-text", 500, path="/api/boom", query="k=raise&q=%3Cscript%3E",
        error="Internal Server Error", needles=(b"<script>", b"/srv/secret", b"RuntimeError")),
    Row("error-header-crlf", 500, path="/api/boom", query="k=header-crlf", error="Internal Server Error",
        check=no_header("X-Echo", "Set-Cookie")),
    Row("error-header-nul", 500, path="/api/boom", query="k=header-nul", check=no_header("X-Echo")),
    Row("error-header-name", 500, path="/api/boom", query="k=header-name", check=no_header("X-A", "X-B")),
    Row("error-cookie-path-injection", 500, path="/api/boom", query="k=cookie-path", check=no_header("Set-Cookie"),
        needles=(b"evil.example",)),
    Row("error-cookie-name", 500, path="/api/boom", query="k=cookie-name", check=no_header("Set-Cookie")),
    Row("error-not-serialisable", 500, path="/api/boom", query="k=object",
        error="Response is not JSON serializable: Object of type Opaque is not JSON serializable"),
    Row("error-datetime", 200, path="/api/boom", query="k=datetime"),  # R31: sent as ISO 8601
    Row("error-nan", 500, path="/api/boom", query="k=nan"),
    Row("error-after-headers", 500, path="/api/boom", query="k=after-headers&q=%3Cscript%3E",
        error="Internal Server Error", check=no_header("X-Built"), needles=(b"<script>",)),
    Row("error-bad-status", 500, path="/api/boom", query="k=bad-status", needles=(b"1000",)),
    Row("error-httperror-bad-header", 500, path="/api/boom", query="k=httperror-header",
        error="Internal Server Error", check=no_header("X-Evil")),
    Row("error-head", 500, method="HEAD", path="/api/boom", query="k=raise"),
]

CASES = [pytest.param(row, mode, id=f"{mode}-{row.id}") for row in ROWS for mode in row.modes]


def _allow(res, allow):
    assert res.header("Allow") == allow


def _utf8_json(res, value):
    res.body.decode("utf-8")  # strict: no surrogate bytes on the wire
    assert json.loads(res.body) == value


def test_the_table_is_big_enough():
    assert len(ROWS) >= 80
    assert len({row.id for row in ROWS}) == len(ROWS), "duplicate row ids"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    pages, markers = build_tree(base)
    # R100: the peer (REMOTE_ADDR 127.0.0.1) is not a trusted proxy, so X-Forwarded-For never sets req.ip
    apps = {"prod": App(pages, trusted_proxies=["10.0.0.0/8"]), "dev": App(pages, dev=True)}
    return apps, markers, [str(base).encode(), str(pages).encode()]


@pytest.mark.parametrize("row, mode", CASES)
def test_hostile_row(world, row, mode):
    apps, markers, secrets = world
    app = apps[mode]
    res = send(app, row)
    check_row(app, row, res, markers, secrets)

