"""nextapi: Next.js-style API routes for Python, as one stdlib-only WSGI package.

A folder of handler files becomes an HTTP API: `pages/api/comments/[id].py`
answers `/api/comments/42` with `req.query["id"] == "42"`.
"""
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
