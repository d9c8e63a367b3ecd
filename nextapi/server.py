"""The dev server behind `python -m nextapi serve` (R50): wsgiref, made usable.

`wsgiref.simple_server` answers one request per connection, one connection
at a time, and can only end a body of unknown length by closing the socket.
This module adds what a dev loop needs and nothing more: a thread per
connection, HTTP/1.1 keep-alive, chunked responses written chunk by chunk (a
generator handler reaches the client before it finishes), request bodies
bounded by their length so leftovers never leak into the next request, and
one access-log line per request. Production uses gunicorn or any PEP 3333
server (R52).

Framing is strict, so no request can hide another in its body for a proxy in
front to misread (request smuggling). Answered 400 with `Connection: close`
before any handler runs (and before any `100 Continue`):

- a header line that is not `name:value` with a token name (no space before
  the colon), an obs-fold continuation line, a CR, LF or NUL in a value;
- a Transfer-Encoding header unless it is one line whose value, with SP/HTAB
  stripped from both ends, is `chunked` in any case, in an HTTP/1.1 request
  that has no Content-Length. So `gzip`, `chunked, chunked`, `identity,
  chunked`, a vertical tab, two lines, or both framings are all refused;
- Content-Length lines that disagree.

A Content-Length that is not plain ASCII digits reaches the app, which answers
400; the connection closes after it. A chunk is a hex size (no whitespace
before it) and its data, then a line end (RFC 9112 7.1); anything else is a
broken body. A bare LF ends a line, as RFC 9112 2.2 allows; a bare CR never.

A response that leaves more of the body unread than we would skip (MAX_DRAIN,
or any unfinished chunked body) says `Connection: close`, and we close.
"""
from __future__ import annotations

import os
import re
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TextIO
from urllib.parse import unquote, urlsplit
from wsgiref.headers import Headers
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from .response import error_response

IDLE_TIMEOUT = 30.0  # seconds a socket may sit silent (idle keep-alive or a stalled client)
MAX_DRAIN = 64 * 1024  # unread body bytes we skip to keep a connection; more closes it
LINGER = 2.0  # seconds we read and drop an unread upload before closing (so a 413 is seen)
_NO_BODY_STATUS = ("204", "304")
_COLOURS = {"2": "\x1b[32m", "3": "\x1b[36m", "4": "\x1b[33m", "5": "\x1b[31m"}
_DIM, _RESET = "\x1b[2m", "\x1b[0m"
_HEX = b"0123456789abcdefABCDEF"
_OWS = " \t"
# Every header line `token:value`, the value free of CR, LF and NUL, then the blank line (or EOF).
_HEADER_SECTION = re.compile(rb"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\r\n\x00]*\r?\n)*(?:\r?\n)?")


def format_access(method: str, target: str, status: str, ms: float, colour: bool) -> str:
    """`GET /api/comments 200 1.2 ms`, the status coloured by class on a terminal."""
    timing = f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms"
    if not colour:
        return f"{method} {target} {status} {timing}"
    code = _COLOURS.get(status[:1], "")
    return f"{method} {target} {code}{status}{_RESET} {_DIM}{timing}{_RESET}"


class _LengthInput:
    """`wsgi.input` for a Content-Length body: never reads past its end."""

    def __init__(self, rfile: Any, length: int) -> None:
        self._rfile = rfile
        self.remaining = length

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > self.remaining:
            size = self.remaining
        data = self._rfile.read(size) if size else b""
        self.remaining -= len(data)
        if size and not data:
            self.remaining = 0  # the client went away mid-body
        return data

    def readline(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > self.remaining:
            size = self.remaining
        data = self._rfile.readline(size) if size else b""
        self.remaining -= len(data)
        return data

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self) -> Any:
        return iter(self.readline, b"")

    def finished(self) -> bool:
        return self.remaining == 0

    def drainable(self) -> bool:
        """Whether drain() could still keep the connection, decided before the response goes out."""
        return self.remaining <= MAX_DRAIN

    def drain(self) -> bool:
        """Skip what the app did not read; False when too much is left to bother."""
        if self.remaining > MAX_DRAIN:
            return False
        while self.remaining and self.read(self.remaining):
            pass
        return self.remaining == 0


class _ChunkedInput:
    """`wsgi.input` for `Transfer-Encoding: chunked` bodies (`wsgi.input_terminated`)."""

    def __init__(self, rfile: Any) -> None:
        self._rfile = rfile
        self._left = 0  # bytes left in the current chunk
        self._done = False
        self.consumed = 0

    def _next_chunk(self) -> None:
        line = self._rfile.readline(1026)
        if not line:  # the client went away mid-body: never a partial body passed on as whole
            self._done = True
            raise ValueError("incomplete chunked request body")
        digits = line.split(b";", 1)[0].rstrip(b"\r\n").rstrip(b" \t")  # BWS before a chunk-ext
        if not line.endswith(b"\n") or not digits or digits.strip(_HEX):
            raise ValueError("malformed chunked request body")
        size = int(digits, 16)
        if size == 0:
            while self._rfile.readline(1026) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            self._done = True
        self._left = size

    def read(self, size: int | None = -1) -> bytes:
        out = []
        want = -1 if size is None or size < 0 else size
        while want != 0 and not self._done:
            if self._left == 0:
                self._next_chunk()
                continue
            n = self._left if want < 0 else min(want, self._left)
            data = self._rfile.read(n)
            if not data:
                self._done = True
                raise ValueError("incomplete chunked request body")  # the client went away mid-body
            out.append(data)
            self._left -= len(data)
            self.consumed += len(data)
            if want > 0:
                want -= len(data)
            if self._left == 0 and self._rfile.readline(3) not in (b"\r\n", b"\n", b""):
                raise ValueError("malformed chunked request body")  # no CRLF after the chunk
        return b"".join(out)

    def readline(self, size: int | None = -1) -> bytes:
        out = bytearray()
        while size is None or size < 0 or len(out) < size:
            c = self.read(1)
            if not c:
                break
            out += c
            if c == b"\n":
                break
        return bytes(out)

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self) -> Any:
        return iter(self.readline, b"")

    def finished(self) -> bool:
        return self._done

    def drainable(self) -> bool:
        """What is left is unknown until read, so only a finished body keeps the connection."""
        return self._done

    def drain(self) -> bool:
        start = self.consumed
        while not self._done and self.consumed - start <= MAX_DRAIN:
            self.read(16 * 1024)
        return self._done


class _ResponseWriter(ServerHandler):
    """One request's WSGI run: HTTP/1.1, chunked when the length is unknown."""

    http_version = "1.1"
    os_environ = {}  # never copy the process environment into requests  # noqa: RUF012
    request_handler: DevRequestHandler
    # Set by BaseHandler as it runs (wsgiref's own attributes, undeclared in its stubs).
    status: str | None
    headers: Headers
    headers_sent: bool
    stdin: _LengthInput | _ChunkedInput
    _chunked = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: list[bytes] = []

    def _has_body(self) -> bool:
        code = (self.status or "")[:3]
        return self.request_handler.command != "HEAD" and code not in _NO_BODY_STATUS and code[0] != "1"

    def cleanup_headers(self) -> None:
        rh = self.request_handler
        if "Content-Length" not in self.headers and self._has_body():
            self.set_content_length()  # a one-item body gets its length
            if "Content-Length" not in self.headers:
                if rh.request_version == "HTTP/1.1":
                    self.headers["Transfer-Encoding"] = "chunked"
                    self._chunked = True
                else:
                    rh.close_connection = True  # HTTP/1.0: the body ends when we close
        if not rh.close_connection and not self.stdin.drainable():
            rh.close_connection = True  # too much body left unread to skip: we will close, so say so
        if rh.close_connection:
            self.headers["Connection"] = "close"
        elif rh.request_version == "HTTP/1.0":
            self.headers["Connection"] = "keep-alive"

    def write(self, data: bytes) -> None:
        """PEP 3333 write(): each chunk goes out, flushed, as it comes."""
        if type(data) is not bytes:
            raise TypeError("write() argument must be a bytes instance")
        if not self.status:
            raise AssertionError("write() before start_response()")
        if not self.headers_sent:
            self.bytes_sent = len(data)
            self.send_headers()
        else:
            self.bytes_sent += len(data)
        if data and self._has_body():
            self._write(b"%x\r\n%s\r\n" % (len(data), data) if self._chunked else data)
        self._flush()

    def finish_content(self) -> None:
        if not self.headers_sent:
            if self._has_body():
                self.headers.setdefault("Content-Length", "0")
            self.send_headers()
        elif self._chunked:
            self._write(b"0\r\n\r\n")
        self._flush()

    # PERF: status line, headers and the first chunk leave in one send, not five.
    def _write(self, data: bytes) -> None:
        self._pending.append(data)

    def _flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            self.stdout.write(data)  # a socket writer: sendall

    def handle_error(self) -> None:
        if self.headers_sent:  # a body cut short: the connection cannot carry another response
            self.log_exception(sys.exc_info())
            self.request_handler.close_connection = True
            self.close()
        else:
            super().handle_error()


class DevRequestHandler(WSGIRequestHandler):
    """A connection: requests one after another until either side closes it."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT
    disable_nagle_algorithm = True  # a streamed chunk leaves now, not after the last ACK
    server: DevServer
    _started = 0.0
    _linger = False
    _expect_100 = False
    path = ""  # until parse_request gets that far: log_request reads it for every error

    def handle(self) -> None:
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection:
            self.handle_one_request()

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except OSError:  # idle timeout or reset: just end the connection quietly
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        self._started = time.perf_counter()
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            self.close_connection = True
            return
        if not self.parse_request():  # it already answered 400/431/505
            return
        if self.request_version == "HTTP/0.9":  # a bare `GET /x`: the answer would have no status line
            self.send_error(400)
            return

        environ = self.get_environ()
        body = self._input(environ)
        writer = _ResponseWriter(body, self.wfile, self.get_stderr(), environ,
                                 multithread=True, multiprocess=False)
        writer.request_handler = self
        app = self.server.get_app()
        assert app is not None, "DevServer is always made with an app"
        writer.run(app)
        if writer.status is not None:  # the client went away mid-response: close() never ran
            self.close_connection = True
            try:
                writer.close()  # closes the app's iterable (its `finally` runs) and logs the line
            except Exception:  # noqa: BLE001 - the app's close() failed: say so, the connection is gone anyway
                writer.log_exception(sys.exc_info())
        elif not body.finished():  # the app did not read the whole body
            try:
                if self.close_connection or not body.drain():
                    self.close_connection = self._linger = True
            except (OSError, ValueError):
                self.close_connection = True

    def finish(self) -> None:
        super().finish()
        if self._linger:
            _linger(self.connection)

    def parse_request(self) -> bool:
        """http.server's parse, then the framing rules of the module docstring."""
        rfile = self.rfile
        self.rfile = tap = _HeaderTap(rfile)  # type: ignore[assignment]  # http.server only calls readline
        self._expect_100 = False
        try:
            if not super().parse_request():
                return False
        finally:
            self.rfile = rfile
        problem = self._framing_problem(b"".join(tap.lines))
        if problem is not None:
            self.send_error(400, problem)
            self._linger = True  # a body may still be on its way: let the client read the 400
            return False
        return not self._expect_100 or super().handle_expect_100()

    def handle_expect_100(self) -> bool:
        """Called inside parse_request: the 100 Continue waits until the framing is vetted."""
        self._expect_100 = True
        return True

    def _framing_problem(self, section: bytes) -> str | None:
        """Why this request's body cannot be framed without doubt (module docstring), or None."""
        if not _HEADER_SECTION.fullmatch(section):
            return "Malformed header line"
        te = self.headers.get_all("Transfer-Encoding")
        lengths = {v.strip(_OWS) for v in self.headers.get_all("Content-Length") or ()}
        if te is not None:
            if len(te) > 1 or te[0].strip(_OWS).lower() != "chunked":
                return "Only a single chunked Transfer-Encoding is supported"
            if self.request_version != "HTTP/1.1":
                return "Transfer-Encoding outside HTTP/1.1"
            if lengths:
                return "Both Transfer-Encoding and Content-Length"
        if len(lengths) > 1:
            return "Conflicting Content-Length headers"
        return None

    def _input(self, environ: dict[str, Any]) -> _LengthInput | _ChunkedInput:
        """A wsgi.input bounded to this request's body; parse_request vetted its framing."""
        if "Transfer-Encoding" in self.headers:
            environ["wsgi.input_terminated"] = True
            return _ChunkedInput(self.rfile)
        raw = (self.headers.get("Content-Length") or "").strip(_OWS)
        if "CONTENT_LENGTH" in environ:
            environ["CONTENT_LENGTH"] = raw  # what we frame by (get_environ's strip() drops more)
        if raw.isascii() and raw.isdigit():
            digits = raw.lstrip("0") or "0"  # int() refuses > 4300 digits; 20 are past any limit
            return _LengthInput(self.rfile, int(digits) if len(digits) < 20 else 1 << 64)
        if raw:  # the app answers 400; where the next request starts is unknown
            self.close_connection = True
        return _LengthInput(self.rfile, 0)

    def get_environ(self) -> dict[str, Any]:
        """CGI variables for this request; wsgiref's own version invents a text/plain type."""
        target = self.path
        if target.startswith(("http://", "https://")):  # absolute-form request target
            parts = urlsplit(target)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        path, _, query = target.partition("?")
        env: dict[str, Any] = {
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_NAME": self.server.server_name,
            "SERVER_PORT": str(self.server.server_port),
            "SERVER_PROTOCOL": self.request_version,
            "SERVER_SOFTWARE": self.server_version,
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path, "iso-8859-1"),
            "QUERY_STRING": query,
            "RAW_URI": self.path,  # the request target as sent, for req.url
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": str(self.client_address[1]),
        }
        for name, value in self.headers.items():
            if "_" in name:  # `X_User` must not pose as `X-User`: both would be HTTP_X_USER
                continue
            key = name.upper().replace("-", "_")
            value = value.strip()
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                env.setdefault(key, value)
                continue
            key = "HTTP_" + key
            if key in env:
                env[key] += ("; " if key == "HTTP_COOKIE" else ",") + value
            else:
                env[key] = value
        return env

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The server's own errors (400, 414, 431, 501, 505) in the app's shape: JSON with the
        status phrase (R42). http.server's page and status line would echo the request back."""
        if self.request_version in ("HTTP/0.9", ""):  # unparsable request line: answer in HTTP/1.1
            self.request_version = "HTTP/1.1"
        phrase = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else "Error"
        self.log_error("code %d, message %s", code, message or phrase)
        _, headers, body = error_response(code, phrase, self.command or "GET")
        self.close_connection = True
        self.send_response(code, phrase)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        for chunk in body:
            self.wfile.write(chunk)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        ms = (time.perf_counter() - self._started) * 1000 if self._started else 0.0
        self.server.access_log(self.command or "-", self.path or "-", str(code), ms)

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


class _HeaderTap:
    """The request's rfile while http.client parses the headers: keeps the lines as sent.

    Its email parser splits on a bare CR and silently drops what follows a line
    it cannot read, so the framing check needs the raw lines.
    """

    def __init__(self, rfile: Any) -> None:
        self.rfile = rfile
        self.lines: list[bytes] = []

    def readline(self, size: int = -1) -> bytes:
        line: bytes = self.rfile.readline(size)
        self.lines.append(line)
        return line


def _linger(sock: socket.socket) -> None:
    """Drop what the client is still uploading, briefly, before we close.

    Closing a socket with unread input resets the connection, and a client
    still writing its body (http.client, requests) would see the reset, not
    the 413 it was sent.
    """
    try:
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + LINGER
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            if not sock.recv(256 * 1024):
                break
    except OSError:
        pass


class DevServer(socketserver.ThreadingMixIn, WSGIServer):
    """A thread per connection; threads are daemons so Ctrl-C never waits for a client."""

    daemon_threads = True
    allow_reuse_address = os.name != "nt"  # on Windows it would let two servers share a port

    def __init__(self, address: tuple[str, int], app: Callable[..., Any], *,
                 out: TextIO | None = None, colour: bool | None = None) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self._out = out or sys.stdout
        if colour is None:
            colour = self._out.isatty() and not os.environ.get("NO_COLOR")
        self._colour = colour
        self._log_lock = threading.Lock()
        super().__init__(address, DevRequestHandler)
        self.set_app(app)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name with getfqdn(), which can
        # stall on a machine without DNS; the dev server never needs it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)
        self.setup_environ()

    def access_log(self, method: str, target: str, status: str, ms: float) -> None:
        line = format_access(method, target, status, ms, self._colour) + "\n"
        with self._log_lock:
            try:
                self._out.write(line)
                self._out.flush()
            except (OSError, ValueError):
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # a client hanging up is not news
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        address, port = self.server_address[:2]
        host = address.decode() if isinstance(address, bytes) else str(address)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
