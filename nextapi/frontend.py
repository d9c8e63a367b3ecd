"""The frontend beside the API: pages and public files (R60, R61).

Built once with the app. The `.html` pages under pages_dir (outside api/) go
through the same scan and trie as the API routes, and public/ becomes an
index of URL -> file. A request path is only ever looked up in that index or
trie, never joined onto a folder, and the file found is checked once more
with realpath before it is opened, so `..`, encoded dots, backslashes, NUL,
dotfiles and symlinks that leave the folder all end in a 404.
"""
from __future__ import annotations

import os
import re
import stat

from ._http import CHUNK, HTML_TYPE, STATUS_LINES
from .errors import BuildError, logger
from .response import error_response, etag_matches
from .routing import Route, compile_routes, match, scan, static_table, within

NOT_FOUND_PAGE = "404.html"
ALLOW = "GET, HEAD, OPTIONS"

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (PERF: cold start); mypy reads the name
if TYPE_CHECKING:
    import mimetypes
    from typing import BinaryIO

    from ._types import Environ, Result

# The web types older Pythons lack or name differently, over Python's built-in table.
_WEB_TYPES = ((".js", "text/javascript"), (".mjs", "text/javascript"), (".wasm", "application/wasm"),
              (".webp", "image/webp"), (".avif", "image/avif"), (".woff", "font/woff"),
              (".woff2", "font/woff2"), (".webmanifest", "application/manifest+json"),
              (".map", "application/json"))
_mime: list[mimetypes.MimeTypes] = []  # the table, made when the first file is served
_ENCODED = {"gzip": "application/gzip", "bzip2": "application/x-bzip2", "xz": "application/x-xz",
            "br": "application/x-brotli", "compress": "application/x-compress"}
_UTF8_TYPES = ("application/json", "application/manifest+json", "application/xml", "image/svg+xml")
# PERF: a pattern string, compiled on the first Range request (re's cache keeps it), not at import (cold start)
_RANGE = r"\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*"
_UNSATISFIABLE = (-1, -1)
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def content_type(name: str) -> str:
    """The Content-Type for a file name; text gets `charset=utf-8`."""
    guessed, encoding = (_mime or _mime_table())[0].guess_type(os.path.basename(name), strict=False)  # PERF: the table on first use
    if encoding:  # `x.tar.gz` is a gzip file to the browser, not a tar
        return _ENCODED.get(encoding, "application/octet-stream")
    if guessed is None:
        return "application/octet-stream"
    if guessed.startswith("text/") or guessed in _UTF8_TYPES:
        return f"{guessed}; charset=utf-8"
    return guessed


def _mime_table() -> list[mimetypes.MimeTypes]:
    """Python's built-in table only (not /etc/mime.types): the same answer on every machine.

    PERF: made on the first file served, not at import: `mimetypes` and building its table
    cost a few ms of every cold start, and an API-only app never needs them (cold start).
    """
    import mimetypes  # PERF: on the first file served, not at import (cold start)

    table = mimetypes.MimeTypes()
    for ext, ctype in _WEB_TYPES:
        table.add_type(ctype, ext)
    if not _mime:  # two threads serving their first file: either table is the same
        _mime.append(table)
    return _mime


def _hidden(name: str) -> bool:
    """Dotfiles (`.env`, `.git/`) are never served; `.well-known/` (RFC 8615) is."""
    return name.startswith(".") and name != ".well-known"


def _safe_path(path: str) -> bool:
    """Refuse what can never name a servable file, before any lookup."""
    if "\\" in path or "\x00" in path:
        return False
    if "/." in path:  # PERF: segment check only when a dot segment is possible
        return not any(_hidden(seg) for seg in path.split("/"))
    return True


def _is_api(url: str) -> bool:
    return url == "/api" or url.startswith("/api/")


def public_files(public_dir: str) -> dict[str, str]:
    """URL path -> absolute file for every servable file in public/ (R60)."""
    files: dict[str, str] = {}
    if not os.path.isdir(public_dir):
        return files
    real_top = os.path.realpath(public_dir)
    for dirpath, dirnames, filenames in os.walk(public_dir):
        dirnames[:] = sorted(d for d in dirnames if not _hidden(d))
        for fname in sorted(filenames):
            if _hidden(fname):
                continue
            path = os.path.join(dirpath, fname)
            url = "/" + "/".join(os.path.relpath(path, public_dir).split(os.sep))
            if not _safe_path(url) or not _utf8(url):
                continue  # a name no request path can spell
            real = os.path.realpath(path)
            if within(real_top, real) and os.path.isfile(real):  # no symlink out, no FIFO
                files[url] = os.path.abspath(path)
    return files


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # os.walk gives surrogates for names that are not UTF-8
        return False
    return True


class Frontend:
    """The non-API side of an app: public files first, then pages, then the 404 page."""

    def __init__(self, pages_dir: str, public_dir: str, pages: list[Route], files: dict[str, str]) -> None:
        self.pages = pages
        self.files = files
        self._root = compile_routes(pages)
        self._real_pages = os.path.realpath(pages_dir)
        self._real_public = os.path.realpath(public_dir)
        page_404 = os.path.join(pages_dir, NOT_FOUND_PAGE)
        self._not_found = page_404 if os.path.isfile(page_404) else None

    def respond(self, environ: Environ, path: str, method: str) -> Result:
        """Answer a path that is not under /api (the app never sends those here)."""
        file, real_root, ctype = self._find(path)
        if file is None:
            return self._missing(environ, method)
        if method not in ("GET", "HEAD"):
            if method == "OPTIONS":
                return error_response(204, "", method, headers=[("Allow", ALLOW)])  # no body: finalize drops it
            return error_response(405, "Method Not Allowed", method, headers=[("Allow", ALLOW)])
        opened = _open_inside(real_root, file)
        if opened is None:  # gone, or swapped for a symlink out, since the build
            return self._missing(environ, method)
        return serve_file(environ, method, opened, ctype)

    def _find(self, path: str) -> tuple[str | None, str, str]:
        if not _safe_path(path):
            return None, "", ""
        file = self.files.get(path)
        if file is not None:
            return file, self._real_public, content_type(file)
        found = match(self._root, path[1:].split("/") if len(path) > 1 else [])
        if found is not None:
            return found[0].file, self._real_pages, HTML_TYPE
        return None, "", ""

    def _missing(self, environ: Environ, method: str) -> Result:
        """`pages/404.html` with status 404 when there is one, else the JSON 404 (R42)."""
        if self._not_found is not None:
            opened = _open_inside(self._real_pages, self._not_found)
            if opened is not None:
                return serve_file(environ, method, opened, HTML_TYPE, status=404)
        return error_response(404, "Not Found", method)


def build_frontend(pages_dir: str, public_dir: str) -> Frontend | None:
    """Scan pages and public/ once; None when there is neither (API-only app).

    A public file and a page at one URL is a BuildError naming both (a public
    file beats a dynamic page, as in Next.js). Anything at an /api URL is
    never served (API routes always win), which is logged, not an error.
    """
    pages = [r for r in scan(pages_dir, "", ".html", ("api",)) if r.rel != NOT_FOUND_PAGE]
    files = public_files(public_dir)
    project = os.path.dirname(pages_dir)
    for route in [r for r in pages if _is_api(r.pattern)]:
        logger.warning("page %s is never served: %s belongs to the API", route.rel, route.pattern)
        pages.remove(route)
    static_pages = static_table(pages)
    for url in [u for u in files if _is_api(u)]:
        logger.warning("public file %s is never served: /api paths belong to the API",
                       os.path.relpath(files.pop(url), project))
    for url, file in files.items():
        page = static_pages.get(url)
        if page is not None:
            raise BuildError(f"public file and page at one URL: {os.path.relpath(file, project)} and "
                             f"{os.path.relpath(page.file, project)} both serve {url}")
    if not pages and not files and not os.path.isfile(os.path.join(pages_dir, NOT_FOUND_PAGE)):
        return None
    return Frontend(pages_dir, public_dir, pages, files)


def _open_inside(real_root: str, file: str) -> BinaryIO | None:
    """Open a regular file whose realpath is inside real_root, else None.

    One realpath per request; O_NOFOLLOW and O_NONBLOCK so a symlink swapped
    in since, or a FIFO, can neither escape nor hang the worker.
    """
    real = os.path.realpath(file)
    if not within(real_root, real):
        return None
    try:
        fd = os.open(real, _OPEN_FLAGS)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return None
        return os.fdopen(fd, "rb", buffering=0)
    except OSError:
        os.close(fd)
        return None


def serve_file(environ: Environ, method: str, f: BinaryIO, ctype: str, *, status: int = 200) -> Result:
    """Status, headers and a streamed body for an open file; takes ownership of `f`.

    A 200 answers a failed If-Match / If-Unmodified-Since with 412,
    If-None-Match / If-Modified-Since with 304 and a single `Range` with 206
    (or 416), in the RFC 9110 13.2.2 order; the 404 page is sent whole,
    uncached, whatever the preconditions (13.2.1: they only guard a 2xx).
    """
    st = os.fstat(f.fileno())
    size = st.st_size
    if status != 200:
        headers = [("Content-Type", ctype), ("Content-Length", str(size)), ("Cache-Control", "no-store")]
        return _body(STATUS_LINES[status], headers, f, 0, size, True, method, environ)

    # PERF: on the first file served, not at import (cold start)
    from email.utils import formatdate

    etag = f'"{size:x}-{st.st_mtime_ns:x}"'
    last_modified = formatdate(st.st_mtime, usegmt=True)
    validators = [("ETag", etag), ("Last-Modified", last_modified), ("Cache-Control", "public, max-age=0")]
    if _precondition_failed(environ, etag, st.st_mtime):
        f.close()
        return error_response(412, "Precondition Failed", method)
    if _not_modified(environ, etag, st.st_mtime):
        f.close()
        return STATUS_LINES[304], validators, []

    start, length, line = 0, size, STATUS_LINES[200]
    headers = [("Content-Type", ctype), *validators, ("Accept-Ranges", "bytes"),
               ("X-Content-Type-Options", "nosniff")]
    header = environ.get("HTTP_RANGE")
    if header is not None and _if_range(environ.get("HTTP_IF_RANGE"), etag, st.st_mtime):
        span = parse_range(header, size)
        if span == _UNSATISFIABLE:
            f.close()
            return error_response(416, "Range Not Satisfiable", method, headers=[("Content-Range", f"bytes */{size}")])
        if span is not None:
            start, end = span
            length, line = end - start + 1, STATUS_LINES[206]
            headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
    headers.append(("Content-Length", str(length)))
    return _body(line, headers, f, start, length, length == size, method, environ)


def _body(line: str, headers: list[tuple[str, str]], f: BinaryIO, start: int, length: int,
          whole: bool, method: str, environ: Environ) -> Result:
    if method == "HEAD":
        f.close()
        return line, headers, []
    wrapper = environ.get("wsgi.file_wrapper")
    if wrapper is not None and whole:
        # PERF: the whole file through the server's wrapper (sendfile on gunicorn);
        # it sends to end of file, so a range always uses FileChunks instead.
        return line, headers, wrapper(f, CHUNK)
    return line, headers, FileChunks(f, start, length)


class FileChunks:
    """`length` bytes of a file from `start`, 64 KiB at a time, closed when done."""

    __slots__ = ("_file", "_left")

    def __init__(self, f: BinaryIO, start: int, length: int) -> None:
        if start:
            f.seek(start)
        self._file, self._left = f, length

    def __iter__(self) -> FileChunks:
        return self

    def __next__(self) -> bytes:
        if self._left > 0:
            chunk = self._file.read(min(CHUNK, self._left))
            if chunk:
                self._left -= len(chunk)
                return chunk
        self.close()  # done, or the file shrank under us: end the body early
        raise StopIteration

    def close(self) -> None:
        self._left = 0
        self._file.close()


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """One `bytes=a-b` / `a-` / `-n` range as (first, last), clamped to the file.

    None means "ignore it, send 200" (another unit, several ranges, bad
    syntax, as RFC 9110 allows); `_UNSATISFIABLE` means 416.
    """
    m = re.fullmatch(_RANGE, header, re.ASCII | re.IGNORECASE)
    if m is None:
        return None
    first, last = m.groups()
    if not first:
        if not last:
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            return _UNSATISFIABLE
        return max(0, size - suffix), size - 1
    start = int(first)
    if last and int(last) < start:
        return None  # `bytes=5-2` is malformed, not unsatisfiable
    if start >= size:
        return _UNSATISFIABLE
    return start, min(int(last), size - 1) if last else size - 1


def _http_time(value: str) -> float | None:
    # PERF: only for a conditional request, not at import (cold start)
    from datetime import timezone
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def _precondition_failed(environ: Environ, etag: str, mtime: float) -> bool:
    """If-Match decides when present; else If-Unmodified-Since (RFC 9110 13.2.2 steps 1-2).

    Guards a client's "only if it is still the version I have" (a resumed
    download, a lost update). A blank header counts as absent, and a date
    that does not parse is ignored (13.1.4).
    """
    im = environ.get("HTTP_IF_MATCH")
    if im is not None and im.strip():
        return not _strong_match(im, etag)
    ius = environ.get("HTTP_IF_UNMODIFIED_SINCE")
    if ius:
        since = _http_time(ius)
        return since is not None and int(mtime) > since
    return False


def _strong_match(if_match: str, etag: str) -> bool:
    """`*`, or a listed tag equal to ours; a weak `W/` tag never matches (RFC 9110 8.8.3.2)."""
    if if_match.strip() == "*":
        return True
    return any(tag.strip() == etag for tag in if_match.split(","))


def _not_modified(environ: Environ, etag: str, mtime: float) -> bool:
    """If-None-Match decides when present; else If-Modified-Since (RFC 9110 13.2.2)."""
    inm = environ.get("HTTP_IF_NONE_MATCH")
    if inm is not None:
        return etag_matches(inm, etag)
    ims = environ.get("HTTP_IF_MODIFIED_SINCE")
    if ims:
        since = _http_time(ims)
        return since is not None and int(mtime) <= since
    return False


def _if_range(value: str | None, etag: str, mtime: float) -> bool:
    """True when the Range applies: no If-Range, or it names this exact version."""
    if value is None:
        return True
    value = value.strip()
    if value.startswith(('"', "W/")):
        return value == etag  # strong comparison: a weak tag never matches
    since = _http_time(value)
    return since is not None and since == int(mtime)
