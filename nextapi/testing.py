"""A test client that calls the app in-process, through `wsgiref.validate`.

Every request is checked for PEP 3333 compliance, and by default an exception
that the app turned into a 500 is raised again in the test, so a failing
handler fails the test with its own traceback (Starlette's TestClient idea).
"""
from __future__ import annotations

import io
import json as jsonlib
from typing import Any, Mapping
from urllib.parse import quote, unquote_to_bytes, urlencode
from wsgiref.headers import Headers
from wsgiref.validate import validator

__all__ = ["Client", "TestResponse", "build_environ"]


class TestResponse:
    """What came back: `status` (also `status_code`), `headers`, `content`, `text`, `json()`."""

    __test__ = False  # not a pytest test class

    def __init__(self, status_line: str, headers: list[tuple[str, str]], chunks: list[bytes]) -> None:
        self.status_line = status_line
        self.status = int(status_line.split(" ", 1)[0])
        self.headers = Headers(headers)
        self.chunks = chunks
        self.content = b"".join(chunks)

    @property
    def status_code(self) -> int:
        """The same as `status`, under the name requests and httpx use."""
        return self.status

    @property
    def text(self) -> str:
        return self.content.decode("utf-8")

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    def __repr__(self) -> str:
        return f"<TestResponse {self.status_line}>"


class Client:
    """Drive a WSGI app like an HTTP client would, without a server (R54)."""

    __test__ = False

    def __init__(self, app: Any, *, raise_server_exceptions: bool = True) -> None:
        self.app = validator(app)
        self.raise_server_exceptions = raise_server_exceptions

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        cookies: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | str | bytes | None = None,
        body: str | bytes | None = None,
        chunked: bool = False,
        environ: Mapping[str, Any] | None = None,
    ) -> TestResponse:
        """Send one request. `path` may carry a query string and %-escapes, as on the wire.

        `json` sends a JSON body, `data` a form (dict) or raw body, `body` raw
        bytes. `chunked=True` sends the body without Content-Length, as a
        server does for chunked input (`wsgi.input_terminated`).
        """
        path, _, qs = path.partition("?")
        if query:
            extra = urlencode(query, doseq=True)
            qs = f"{qs}&{extra}" if qs else extra
        hdrs = {k.lower(): v for k, v in (headers or {}).items()}
        payload: bytes | None = None
        if json is not None:
            payload = jsonlib.dumps(json).encode("utf-8")
            hdrs.setdefault("content-type", "application/json")
        elif isinstance(data, Mapping):
            payload = urlencode(data, doseq=True).encode("ascii")
            hdrs.setdefault("content-type", "application/x-www-form-urlencoded")
        elif data is not None or body is not None:
            raw = data if data is not None else body
            payload = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)  # type: ignore[arg-type]
        if cookies:
            hdrs["cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())

        env = build_environ(method.upper(), path, qs, hdrs, payload, chunked=chunked)
        if environ:
            env.update(environ)
        return self._call(env)

    def _call(self, env: dict[str, Any]) -> TestResponse:
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = [status, headers]
            return lambda data: None

        result = self.app(env, start_response)
        try:
            chunks = [chunk for chunk in result]
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        exc = env.get("nextapi.exception")
        if exc is not None and self.raise_server_exceptions:
            raise exc
        return TestResponse(started[0], started[1], chunks)

    def get(self, path: str, **kw: Any) -> TestResponse:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> TestResponse:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> TestResponse:
        return self.request("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> TestResponse:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> TestResponse:
        return self.request("DELETE", path, **kw)

    def options(self, path: str, **kw: Any) -> TestResponse:
        return self.request("OPTIONS", path, **kw)

    def head(self, path: str, **kw: Any) -> TestResponse:
        return self.request("HEAD", path, **kw)


def build_environ(
    method: str,
    path: str,
    query_string: str = "",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    *,
    chunked: bool = False,
) -> dict[str, Any]:
    """A WSGI environ as a server would build it for this request line, headers and body."""
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        # A server hands the app the path %-decoded, as latin-1 characters of the bytes.
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1") or "/",
        "QUERY_STRING": query_string,
        "RAW_URI": quote(path, safe="/%:@!$&'()*+,;=-._~") + (f"?{query_string}" if query_string else ""),
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body or b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if body is not None and not chunked:
        env["CONTENT_LENGTH"] = str(len(body))
    if chunked:
        env["wsgi.input_terminated"] = True
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        env[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value
    return env
