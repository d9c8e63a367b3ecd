"""``multipart/form-data`` (R23, RFC 7578), parsed as it streams in.

Our own parser, since ``cgi`` is gone from Python 3.13 and ``cgi.FieldStorage``
was a known DoS: it is fed chunks as they are read from ``wsgi.input``, holds
at most one chunk plus a delimiter's length of unparsed bytes, writes uploads
to a ``SpooledTemporaryFile`` (in memory up to 1 MB, then on disk), and counts
parts, header bytes and field bytes so a hostile body costs bounded memory
and linear time. Every malformed body is the same clean 400.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from ._http import media_type
from .errors import HTTPError
from .limits import DEFAULT_LIMITS, Limits
from .query import add_pair as _add

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (PERF: cold start); mypy reads the name
if TYPE_CHECKING:
    from typing import IO, Any

    Form = dict[str, Any]  # name -> str, or a list of str when repeated
    Files = dict[str, Any]  # name -> UploadFile, or a list of them when repeated

__all__ = ["MultipartParser", "UploadFile", "boundary_of", "is_multipart", "parse_multipart"]

INVALID = "Invalid multipart body"
# RFC 2046 bchars: 1 to 70 of these, the last one not a space.
# PERF: a pattern string, compiled on the first multipart body (re's cache keeps it), not at import (cold start)
_BOUNDARY = r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]"
_PREAMBLE, _AFTER_DELIMITER, _HEADERS, _BODY, _DONE = range(5)



class UploadFile:
    """One uploaded file: ``name`` (the form field), ``filename`` as the client
    sent it (never trust it as a path), ``content_type``, ``headers`` and
    ``file``, rewound and ready to read."""

    __slots__ = ("content_type", "file", "filename", "headers", "name", "size")

    def __init__(self, name: str, filename: str, content_type: str, headers: dict[str, str],
                 spool_size: int) -> None:
        self.name = name
        self.filename = filename
        self.content_type = content_type
        self.headers = headers
        # PERF: on the first upload, not at import (cold start)
        from tempfile import SpooledTemporaryFile

        self.file: IO[bytes] = SpooledTemporaryFile(max_size=spool_size)  # noqa: SIM115
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        return self.file.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.file.seek(offset, whence)

    def close(self) -> None:
        self.file.close()

    def __repr__(self) -> str:
        return f"<UploadFile {self.name!r} {self.filename!r} {self.content_type} {self.size} bytes>"


def is_multipart(content_type: str | None) -> bool:
    return bool(content_type) and media_type(content_type)[0] == "multipart/form-data"


def boundary_of(content_type: str | None) -> bytes:
    """The boundary parameter, checked against RFC 2046, or a 400 before any read."""
    boundary = media_type(content_type)[1].get("boundary", "")
    if not re.fullmatch(_BOUNDARY, boundary):
        raise HTTPError(400, f"{INVALID}: missing or malformed boundary")
    return boundary.encode("ascii")


def parse_multipart(
    chunks: Iterable[bytes] | None, content_type: str | None, limits: Limits = DEFAULT_LIMITS,
) -> tuple[Form | None, Files]:
    """``(fields, files)`` from body chunks; ``(None, {})`` when there is no body.

    The boundary is checked before the first chunk is asked for, so a bad
    Content-Type costs no read. An empty body is an empty form; no body at all
    (no Content-Length, no chunked input) is ``None``, as for every type (R23).
    """
    if chunks is None:
        return None, {}
    parser = MultipartParser(boundary_of(content_type), limits)
    try:
        for chunk in chunks:
            parser.feed(chunk)
        return parser.finish()
    except BaseException:
        parser.close()
        raise


class MultipartParser:
    """A push parser: ``feed(chunk)`` any number of times, then ``finish()``.

    The body is read as if it started with CRLF, so the first boundary is an
    ordinary delimiter (CRLF "--" boundary); text before it is the preamble and
    after the close delimiter the epilogue, both ignored (RFC 2046).
    """

    def __init__(self, boundary: bytes, limits: Limits = DEFAULT_LIMITS) -> None:
        self._delimiter = b"\r\n--" + boundary
        self._limits = limits
        self._buf = bytearray(b"\r\n")
        self._state = _PREAMBLE
        self._seen = 0  # bytes fed: an empty body is an empty form
        self._parts = 0
        self.fields: Form = {}
        self.files: Files = {}
        self._part: UploadFile | bytearray | None = None
        self._name = ""
        self._charset = "utf-8"
        self._uploads: list[UploadFile] = []
        self._scanned = 0  # header bytes already searched for the blank line

    def feed(self, data: bytes) -> None:
        if not data:
            return
        self._seen += len(data)
        if self._state == _DONE:
            return  # the epilogue
        self._buf += data
        steps = (self._preamble, self._after_delimiter, self._headers, self._body)
        while self._state != _DONE and steps[self._state]():
            pass
        if self._state == _DONE:
            self._buf.clear()

    def finish(self) -> tuple[Form, Files]:
        """The parsed form; a body that ended before its close delimiter is a 400."""
        if self._state != _DONE and self._seen:
            self.close()
            raise _invalid("unterminated body")
        for upload in self._uploads:
            upload.file.seek(0)
        return self.fields, self.files

    def close(self) -> None:
        """Drop every upload (on an error, the temporary files go at once)."""
        for upload in self._uploads:
            upload.close()

    # -- states: each returns True when it made progress and may go on ---------
    def _preamble(self) -> bool:
        buf, delim = self._buf, self._delimiter
        i = buf.find(delim)
        if i < 0:
            del buf[: max(0, len(buf) - len(delim) + 1)]  # keep a possible partial delimiter
            return False
        del buf[: i + len(delim)]
        self._state = _AFTER_DELIMITER
        return True

    def _after_delimiter(self) -> bool:
        """After a boundary: ``--`` ends the body; else optional blanks, then CRLF."""
        buf = self._buf
        if len(buf) < 2:
            return False
        if buf[:2] == b"--":
            self._state = _DONE
            return True
        eol = buf.find(b"\r\n")
        if eol < 0:
            if len(buf) > 256 or buf.strip(b" \t"):
                raise _invalid("bad delimiter")
            return False
        if buf[:eol].strip(b" \t"):  # the boundary text went on: it was not a boundary
            raise _invalid("bad delimiter")
        del buf[: eol + 2]
        self._parts += 1
        if self._parts > self._limits.max_fields:
            raise HTTPError(400, "Too many fields")
        self._state = _HEADERS
        return True

    def _headers(self) -> bool:
        buf, cap = self._buf, self._limits.max_part_header_size
        if buf[:2] == b"\r\n":  # no header lines at all
            end, skip = 0, 2
        else:
            # Resume the search where the last chunk ended: linear however it is fed.
            end, skip = buf.find(b"\r\n\r\n", max(0, self._scanned - 3), cap + 4), 4
            if end < 0:
                if len(buf) >= cap + 4:
                    raise _invalid("part headers too large")
                self._scanned = len(buf)
                return False
        self._scanned = 0
        headers = _parse_headers(bytes(buf[:end]))
        del buf[: end + skip]
        self._start_part(headers)
        self._state = _BODY
        return True

    def _body(self) -> bool:
        buf, delim = self._buf, self._delimiter
        i = buf.find(delim)
        if i < 0:
            keep = len(delim) - 1  # the end of buf may be the start of a delimiter
            if len(buf) > keep:
                self._write(buf[: len(buf) - keep])
                del buf[: len(buf) - keep]
            return False
        self._write(buf[:i])
        del buf[: i + len(delim)]
        self._end_part()
        self._state = _AFTER_DELIMITER
        return True

    # -- parts ----------------------------------------------------------------
    def _start_part(self, headers: dict[str, str]) -> None:
        disposition = headers.get("content-disposition")
        if disposition is None:
            raise _invalid("part without Content-Disposition")
        kind, params = _parse_disposition(disposition)
        if kind != "form-data" or "name" not in params:
            raise _invalid("part without a form-data name")
        self._name = params["name"]
        ctype = headers.get("content-type", "text/plain")
        filename = _filename(params)
        if filename is None:
            self._part = bytearray()
            charset = media_type(ctype)[1].get("charset", "utf-8")
            self._charset = charset if len(charset) <= 40 else "utf-8"
        else:
            upload = UploadFile(self._name, filename, ctype, headers, self._limits.spool_size)
            self._uploads.append(upload)
            self._part = upload

    def _write(self, data: bytearray | bytes) -> None:
        part = self._part
        if not data:
            return
        if isinstance(part, bytearray):
            if len(part) + len(data) > self._limits.max_field_size:
                raise HTTPError(413, "Form field too large")
            part += data
        elif part is not None:
            part.file.write(data)
            part.size += len(data)

    def _end_part(self) -> None:
        part = self._part
        if isinstance(part, bytearray):
            _add(self.fields, self._name, _decode_field(bytes(part), self._charset))
        elif part is not None:
            _add(self.files, self._name, part)
        self._part = None


def _invalid(why: str) -> HTTPError:
    return HTTPError(400, f"{INVALID}: {why}")


def _parse_headers(block: bytes) -> dict[str, str]:
    """Part header lines into ``{lower-case name: value}``; bytes read as UTF-8.

    Browsers send non-ASCII file names as raw UTF-8; obsolete line folding
    is joined; the first of duplicate headers wins.
    """
    headers: dict[str, str] = {}
    if not block:
        return headers
    last = ""
    for line in block.decode("utf-8", "replace").split("\r\n"):
        if line[:1] in (" ", "\t") and last:
            headers[last] += " " + line.strip(" \t")
            continue
        name, colon, value = line.partition(":")
        name = name.strip(" \t").lower()
        if not colon or not name:
            raise _invalid("malformed part header")
        if name not in headers:
            headers[name] = value.strip(" \t")
            last = name
        else:
            last = ""
    return headers


def _parse_disposition(value: str) -> tuple[str, dict[str, str]]:
    """``form-data; name="a"; filename="b.txt"`` -> ``("form-data", {...})``, in linear time.

    Quoted values end at the first unescaped quote; ``\\"`` and ``\\\\`` are
    unescaped, other backslashes kept (old browsers sent ``C:\\path\\file``).
    """
    kind, _, rest = value.partition(";")
    params: dict[str, str] = {}
    i, n = 0, len(rest)
    while i < n:
        eq = rest.find("=", i)
        semi = rest.find(";", i)
        if eq < 0 or (0 <= semi < eq):  # a bare token: skip it
            if semi < 0:
                break
            i = semi + 1
            continue
        key = rest[i:eq].strip(" \t").lower()
        j = eq + 1
        while j < n and rest[j] in " \t":
            j += 1
        if j < n and rest[j] == '"':
            out, j = [], j + 1
            while j < n and rest[j] != '"':
                if rest[j] == "\\" and j + 1 < n and rest[j + 1] in '"\\':
                    j += 1
                out.append(rest[j])
                j += 1
            val = "".join(out)
            semi = rest.find(";", j)
        else:
            semi = rest.find(";", j)
            val = rest[j:semi if semi >= 0 else n].strip(" \t")
        if key and key not in params:
            params[key] = val
        i = semi + 1 if semi >= 0 else n
    return kind.strip(" \t").lower(), params


def _filename(params: dict[str, str]) -> str | None:
    """``filename*=UTF-8''%E2%82%AC.txt`` (RFC 5987) wins over ``filename``; None: a field."""
    star = params.get("filename*")
    if star is not None:
        charset, sep, rest = star.partition("'")
        _, sep2, encoded = rest.partition("'")
        if sep and sep2:
            # PERF: only for a `filename*`, not at import (urllib.parse brings ipaddress: cold start)
            from urllib.parse import unquote_to_bytes

            try:
                return unquote_to_bytes(encoded).decode(charset or "utf-8", "replace")
            except LookupError:
                pass
    return params.get("filename")


def _decode_field(data: bytes, charset: str) -> str:
    try:
        return data.decode(charset, "replace")
    except (LookupError, ValueError):  # an unknown or unfit charset: read it as UTF-8
        return data.decode("utf-8", "replace")
