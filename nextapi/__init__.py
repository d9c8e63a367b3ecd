"""nextapi: Next.js-style API routes for Python, as one stdlib-only WSGI package.

A folder of handler files becomes an HTTP API: `pages/api/comments/[id].py`
answers `/api/comments/42` with `req.query["id"] == "42"`.

The names below are imported on first use (PEP 562), so `import nextapi` costs only what
the app itself needs: `from nextapi import cors` imports the CORS battery then (issue 15).
"""
from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (PERF: cold start); mypy reads the name
if TYPE_CHECKING:  # the real imports, for type checkers and IDEs
    from typing import Any

    from .app import App
    from .batteries.auth import api_key, basic, bearer
    from .batteries.compress import gzip
    from .batteries.cors import cors
    from .batteries.ratelimit import MemoryStore, SQLiteStore, rate_limit
    from .batteries.sessions import sessions
    from .errors import BuildError, HTTPError, LoadError
    from .limits import Limits
    from .multipart import UploadFile
    from .params import Cookie, Field, Header, Query, operation
    from .request import Request
    from .response import Response, ResponseSentError

__version__ = "0.1.0"
__all__ = ["App", "BuildError", "Cookie", "Field", "HTTPError", "Header", "Limits", "LoadError", "MemoryStore", "Query", "Request", "Response",
           "ResponseSentError", "SQLiteStore", "UploadFile", "__version__", "api_key", "basic", "bearer", "cors", "gzip", "operation", "rate_limit", "sessions"]

# PERF: each public name -> the submodule defining it, imported when the name is first used (cold start).
_EXPORTS = {
    "App": "app",
    "api_key": "batteries.auth", "basic": "batteries.auth", "bearer": "batteries.auth",
    "gzip": "batteries.compress",
    "cors": "batteries.cors",
    "MemoryStore": "batteries.ratelimit", "SQLiteStore": "batteries.ratelimit", "rate_limit": "batteries.ratelimit",
    "sessions": "batteries.sessions",
    "BuildError": "errors", "HTTPError": "errors", "LoadError": "errors",
    "Limits": "limits",
    "UploadFile": "multipart",
    "Cookie": "params", "Field": "params", "Header": "params", "Query": "params", "operation": "params",
    "Request": "request",
    "Response": "response", "ResponseSentError": "response",
}


if not TYPE_CHECKING:  # at run time only: type checkers see the real imports above, and an unknown
    # name stays an error to them (a module __getattr__ would make every attribute Any)
    def __getattr__(name: str) -> Any:
        """`nextapi.cors`, `from nextapi import cors`: the export, its submodule imported now."""
        sub = _EXPORTS.get(name)
        if sub is None:
            raise AttributeError(f"module 'nextapi' has no attribute {name!r}")
        import sys

        module = f"{__name__}.{sub}"
        __import__(module)  # PERF: not importlib.import_module: the importlib package stays unimported (cold start)
        value = getattr(sys.modules[module], name)
        globals()[name] = value  # PERF: later lookups are a plain module attribute, without this hook
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
