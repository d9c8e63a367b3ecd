"""The request a handler sees: thin over the WSGI environ, parsed lazily.

`query`, `cookies`, `headers` and `body` cost nothing until read and are
parsed once (Bottle's DictProperty idea), so a handler that only looks at
`req.method` allocates little more than this object.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from .body import JSON_TYPES, iter_body, parse_body, read_body
from .config import DEFAULT_CONFIG, RouteConfig
from .cookies import parse_cookies
from .limits import DEFAULT_LIMITS, Limits
from .query import parse_query

_UNSET: Any = object()
_STREAMED: Any = object()  # raw_body after a multipart body was parsed from the stream


class Headers(Mapping[str, str]):
    """Request headers from the environ, looked up case-insensitively."""

    __slots__ = ("_items",)

    def __init__(self, environ: Mapping[str, Any]) -> None:
        items: dict[str, str] = {}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                items[key[5:].replace("_", "-").lower()] = value
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
                items[key.replace("_", "-").lower()] = value
        self._items = items

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class Request:
    """What a handler gets as `req` (R20–R25)."""

    __slots__ = (
        "_body",
        "_cookies",
        "_files",
        "_headers",
        "_query",
        "_raw",
        "allow",
        "config",
        "environ",
        "limits",
        "method",
        "params",
        "path",
        "session",
        "trusted",
        "user",
    )
    # Each starts as _UNSET, is parsed on first read, then kept (an error too, to raise again).
    _query: dict[str, Any]
    _cookies: dict[str, str]
    _headers: Headers
    _raw: Any
    _body: Any

    def __init__(
        self,
        environ: dict[str, Any],
        path: str,
        params: dict[str, Any] | None = None,
        config: RouteConfig = DEFAULT_CONFIG,
        limits: Limits = DEFAULT_LIMITS,
        trusted: tuple[Network, ...] = (),
        method: str | None = None,
    ) -> None:
        self.environ = environ
        # `method`: REQUEST_METHOD upper-cased, when the caller has it already
        self.method: str = environ["REQUEST_METHOD"].upper() if method is None else method
        self.path = path
        self.params = {} if params is None else params  # PERF: the app passes a fresh dict; no second one
        self.config = config
        self.limits = limits
        self.trusted = trusted  # the app's trusted_proxies, for `ip`
        self.allow: str | None = None  # the matched route's methods, as an Allow header (set by the app)
        # Filled by batteries, None without them: nextapi.sessions() (a dict kept in a signed
        # cookie) and nextapi.bearer() / basic() / api_key() (what their verify returned).
        self.session: Any = None
        self.user: Any = None
        self._query = self._cookies = self._headers = self._raw = self._body = _UNSET
        self._files: dict[str, Any] | None = None  # PERF: made when a multipart body is parsed

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.url}>"

    @property
    def url(self) -> str:
        """Path and query as the client sent them."""
        env = self.environ
        raw: str | None = env.get("RAW_URI") or env.get("REQUEST_URI")
        if raw:
            return raw
        from urllib.parse import (
            quote,  # PERF: on the first req.url without RAW_URI, not at import (cold start)
        )

        url = quote(self.path, safe="/:@!$&'()*+,;=-._~")
        qs = env.get("QUERY_STRING")
        return f"{url}?{qs}" if qs else url

    @property
    def ip(self) -> str:
        """The client's address (R100): REMOTE_ADDR, or behind trusted proxies the right-most
        `X-Forwarded-For` entry that is not one of them (what the nearest trusted proxy saw)."""
        env = self.environ
        remote: str = env.get("REMOTE_ADDR") or ""
        forwarded = env.get("HTTP_X_FORWARDED_FOR")
        if not self.trusted or not forwarded or not _trusted(remote, self.trusted):
            return remote  # a client talking to us directly cannot choose its address
        hops = [hop.strip() for hop in forwarded.split(",")[-32:]]
        for hop in reversed(hops):
            if not _trusted(hop, self.trusted):
                return hop if _address(hop) is not None else remote
        return hops[0] if _address(hops[0]) is not None else remote

    @property
    def query(self) -> dict[str, Any]:
        """Query string and route parameters; route parameters win (R21)."""
        if self._query is _UNSET:
            qs = self.environ.get("QUERY_STRING")
            query = parse_query(qs, self.limits.max_fields) if qs else {}
            if self.params:
                query.update(self.params)
            self._query = query
        return self._query

    @property
    def cookies(self) -> dict[str, str]:
        if self._cookies is _UNSET:
            header = self.environ.get("HTTP_COOKIE")
            lim = self.limits
            self._cookies = parse_cookies(header, lim.max_cookie_length, lim.max_cookies) if header else {}
        return self._cookies

    @property
    def headers(self) -> Headers:
        if self._headers is _UNSET:
            self._headers = Headers(self.environ)
        return self._headers

    @property
    def raw_body(self) -> bytes | None:
        """The body bytes as received (for signature checks), within the size limit.

        None when there is no body, or when the body parser is off (read
        `req.stream` yourself then).
        """
        if self._raw is _UNSET:
            if not self.config.body_parser:
                self._raw = None
            else:
                try:
                    self._raw = read_body(self.environ, self.config.size_limit, self.config.size_label)
                except Exception as exc:  # noqa: BLE001 - kept and raised again on every read
                    self._raw = exc  # the stream is consumed: keep answering with the same error
        if isinstance(self._raw, Exception):
            raise self._raw
        if self._raw is _STREAMED:
            raise RuntimeError("req.raw_body is not kept once req.body has streamed a multipart "
                               "body; read req.raw_body first to have both")
        raw: bytes | None = self._raw
        return raw

    @property
    def body(self) -> Any:
        """The parsed body (R23): JSON value, form dict, str, bytes, or None."""
        if self._body is _UNSET:
            try:
                self._body = self._parse_body()
            except Exception as exc:  # noqa: BLE001 - kept and raised again on every read
                self._body = exc
        if isinstance(self._body, Exception):
            raise self._body
        return self._body

    @property
    def files(self) -> dict[str, Any]:
        """Uploads of a multipart body: name -> UploadFile (a list when repeated)."""
        ctype = self.environ.get("CONTENT_TYPE")
        if self._body is _UNSET and ctype and "multipart" in ctype.lower() and _multipart().is_multipart(ctype):
            self.body  # noqa: B018 - parses the form, filling _files
        if self._files is None:
            self._files = {}
        return self._files

    def _parse_body(self) -> Any:
        ctype = self.environ.get("CONTENT_TYPE")
        lim = self.limits
        # PERF: no "multipart" in the header, no need to parse it to know
        # PERF: a JSON Content-Type is never multipart: no lower-casing to know
        if (ctype and ctype not in JSON_TYPES and self.config.body_parser and "multipart" in ctype.lower()
                and _multipart().is_multipart(ctype)):
            parse_multipart = _multipart().parse_multipart
            if self._raw is _UNSET:
                # Stream it: uploads go to disk as they arrive, never all in memory.
                # iter_body reads nothing until iterated, and the boundary is checked first.
                try:
                    chunks = iter_body(self.environ, self.config.size_limit, self.config.size_label)
                    form, self._files = parse_multipart(chunks, ctype, lim)
                except Exception as exc:
                    self._raw = exc  # the stream may be half read: raw_body gives the same error
                    raise
                self._raw = _STREAMED
            else:  # raw_body was read first: parse those bytes
                raw = self.raw_body
                form, self._files = parse_multipart(None if raw is None else (raw,), ctype, lim)
            return form
        return parse_body(self.raw_body, ctype, max_fields=lim.max_fields, max_depth=lim.max_json_depth)

    @property
    def stream(self) -> BinaryIO | None:
        """The unread input when `body_parser` is False (R25), else None."""
        return None if self.config.body_parser else self.environ["wsgi.input"]


TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (PERF: cold start); mypy reads the name
if TYPE_CHECKING:
    import ipaddress
    from typing import Any, BinaryIO

    Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """`["10.0.0.0/8", "127.0.0.1"]` -> networks; a bad entry is a ValueError at start-up."""
    if isinstance(entries, str):
        entries = [entries]
    if not entries:
        return ()  # PERF: no proxies, no ipaddress (cold start)
    import ipaddress  # PERF: only with trusted proxies, not at import (cold start)

    try:
        return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries)
    except ValueError as exc:
        raise ValueError(f"trusted_proxies: {exc}") from None


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    import ipaddress  # PERF: only with trusted proxies (imported by parse_networks already)

    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def _trusted(text: str, networks: tuple[Network, ...]) -> bool:
    addr = _address(text)
    return addr is not None and any(addr in net for net in networks)


def _multipart() -> Any:
    """nextapi.multipart, imported on the first multipart body (PERF: cold start)."""
    from . import multipart

    return multipart
