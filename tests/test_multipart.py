"""multipart/form-data (R23): the streaming parser, its limits, and req.body / req.files."""
from __future__ import annotations

import io
from itertools import pairwise

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from nextapi import App
from nextapi.errors import HTTPError
from nextapi.limits import Limits
from nextapi.multipart import MultipartParser, UploadFile, parse_multipart
from nextapi.testing import Client
from tests.helpers import grouped, only_4xx, write_tree
from tests.strategies import BOUNDARY, FEW, FIELDS, FILES, NASTY_BYTES

B = "XyZ-boundary"
CT = f"multipart/form-data; boundary={B}"


def part(name: str, data: bytes | str, filename: str | None = None, ctype: str | None = None,
         extra: str = "") -> bytes:
    disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    head = f"Content-Disposition: {disp}\r\n" + (f"Content-Type: {ctype}\r\n" if ctype else "") + extra
    data = data.encode() if isinstance(data, str) else data
    return f"--{B}\r\n{head}\r\n".encode() + data + b"\r\n"


def form(*parts: bytes, close: bool = True) -> bytes:
    return b"".join(parts) + (f"--{B}--\r\n".encode() if close else b"")


DEFAULT = Limits()


def parse(body: bytes, chunk: int = 65536, limits: Limits = DEFAULT, ct: str = CT):
    return parse_multipart([body[i:i + chunk] for i in range(0, len(body), chunk)], ct, limits)


SAMPLE = form(
    part("title", "hello"),
    part("tag", "a"),
    part("tag", "b"),
    part("doc", b"line1\r\nline2\r\n--XyZ-boundar", filename="notes.txt", ctype="text/plain"),
    part("pics", b"\x89PNG\x00\xff", filename="a.png", ctype="image/png"),
    part("pics", b"", filename="", ctype="application/octet-stream"),
)


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 16, 17, 64, 1000, 65536])
def test_fields_and_files_whatever_the_chunking(chunk):
    fields, files = parse(SAMPLE, chunk)
    assert fields == {"title": "hello", "tag": ["a", "b"]}
    doc = files["doc"]
    assert isinstance(doc, UploadFile)
    assert (doc.name, doc.filename, doc.content_type) == ("doc", "notes.txt", "text/plain")
    assert doc.read() == b"line1\r\nline2\r\n--XyZ-boundar"  # a near-delimiter is content
    assert doc.size == len(b"line1\r\nline2\r\n--XyZ-boundar")
    a, empty = files["pics"]
    assert (a.filename, a.content_type, a.read()) == ("a.png", "image/png", b"\x89PNG\x00\xff")
    assert (empty.filename, empty.read()) == ("", b"")


def test_preamble_epilogue_padding_and_quoted_boundary():
    body = (b"this is the preamble\r\n" + part("a", "1").replace(f"--{B}\r\n".encode(), f"--{B} \t\r\n".encode())
            + f"--{B}--\r\nthis is the epilogue --{B}\r\n junk".encode())
    assert parse(body, ct=f'multipart/form-data; boundary="{B}"') == ({"a": "1"}, {})


def test_empty_body_is_an_empty_form_and_no_body_is_none():
    assert parse(b"") == ({}, {})
    assert parse(form()) == ({}, {})
    assert parse_multipart(None, CT) == (None, {})
    assert parse_multipart(None, "multipart/form-data") == (None, {})  # nothing to read, nothing wrong


def test_headers_are_case_insensitive_and_unicode_names_survive():
    body = (f"--{B}\r\ncontent-disposition: FORM-DATA; NAME=plain; FileName=\"r\u00e9sum\u00e9.pdf\"\r\n"
            f"CONTENT-TYPE: application/pdf\r\n\r\n%PDF\r\n--{B}--").encode()
    _, files = parse(body)
    assert files["plain"].filename == "r\u00e9sum\u00e9.pdf"
    assert files["plain"].content_type == "application/pdf"
    assert files["plain"].headers["content-type"] == "application/pdf"


def test_filename_star_and_escapes_and_paths_kept_as_sent():
    body = form(
        part("a", "x", extra="").replace(b'name="a"', b"name=\"a\"; filename=\"ignored\"; "
                                         b"filename*=UTF-8''%E2%82%AC%20rates.txt"),
        part("b", "y", filename='say \\"hi\\".txt'),
        part("c", "z", filename="../../etc/passwd"),
        part("d", "w", filename="C:\\Users\\me\\x.txt"),
    )
    _, files = parse(body)
    assert files["a"].filename == "\u20ac rates.txt"
    assert files["b"].filename == 'say "hi".txt'
    assert files["c"].filename == "../../etc/passwd"  # as sent: never use it as a path
    assert files["d"].filename == "C:\\Users\\me\\x.txt"


def test_field_charset_and_invalid_utf8():
    body = form(part("a", "caf\u00e9".encode("latin-1"), ctype="text/plain; charset=latin-1"),
                part("b", b"\xff\xfe"), part("c", b"x", ctype="text/plain; charset=rot13"))
    assert parse(body)[0] == {"a": "caf\u00e9", "b": "\ufffd\ufffd", "c": "x"}


def test_large_upload_rolls_to_disk_past_spool_size():
    data = bytes(range(256)) * 5000  # 1.28 MB
    _, files = parse(form(part("f", data, filename="big.bin")), limits=Limits(spool_size=1024 * 1024))
    up = files["f"]
    assert up.file._rolled  # on disk, not in memory
    assert up.read() == data
    _, files = parse(form(part("f", b"small", filename="s.bin")))
    assert not files["f"].file._rolled


MALFORMED = {
    "unterminated": form(part("a", "1"), close=False),
    "no close delimiter, truncated part": f"--{B}\r\nContent-Disposition: form-data; name=a\r\n\r\nabc".encode(),
    "only a preamble": b"hello there",
    "delimiter then garbage": f"--{B}garbage\r\n".encode(),
    "no headers": f"--{B}\r\n\r\nx\r\n--{B}--".encode(),
    "no content-disposition": f"--{B}\r\nContent-Type: text/plain\r\n\r\nx\r\n--{B}--".encode(),
    "disposition without name": f"--{B}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--{B}--".encode(),
    "not form-data": f"--{B}\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--{B}--".encode(),
    "header line without colon": f"--{B}\r\nContent-Disposition form-data\r\n\r\nx\r\n--{B}--".encode(),
    "headers never end": f"--{B}\r\nContent-Disposition: form-data; name=a\r\n".encode(),
    "LF only": f"--{B}\nContent-Disposition: form-data; name=a\n\nx\n--{B}--".encode(),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_bodies_are_a_clean_400(body):
    for chunk in (1, 7, 65536):
        with pytest.raises(HTTPError) as info:
            parse(body, chunk)
        assert info.value.status == 400
        assert info.value.message.startswith("Invalid multipart body")


@pytest.mark.parametrize("ct", [
    "multipart/form-data",
    "multipart/form-data; boundary=",
    "multipart/form-data; boundary=" + "a" * 71,
    'multipart/form-data; boundary=" trailing "',
    'multipart/form-data; boundary="a\\"b"',
    "multipart/form-data; boundary=semi\x00colon",
    "multipart/form-data; boundary=caf\u00e9",
])
def test_bad_boundary_is_400_before_any_read(ct):
    def never():
        raise AssertionError("read before the boundary was checked")
        yield b""

    with pytest.raises(HTTPError) as info:
        parse_multipart(never(), ct)
    assert info.value.status == 400
    assert "boundary" in info.value.message


def test_limits_parts_headers_and_field_size():
    many = form(*[part(f"f{i}", "x") for i in range(11)])
    with pytest.raises(HTTPError) as info:
        parse(many, limits=Limits(max_fields=10))
    assert (info.value.status, info.value.message) == (400, "Too many fields")
    assert len(parse(many, limits=Limits(max_fields=11))[0]) == 11

    big_head = part("a", "x", extra="X-Pad: " + "p" * 200 + "\r\n")
    with pytest.raises(HTTPError) as info:
        parse(form(big_head), 3, limits=Limits(max_part_header_size=128))
    assert info.value.status == 400
    assert parse(form(big_head), 3, limits=Limits(max_part_header_size=512))[0] == {"a": "x"}

    with pytest.raises(HTTPError) as info:
        parse(form(part("a", "y" * 101)), 7, limits=Limits(max_field_size=100))
    assert info.value.status == 413
    # A file of that size is fine: it is spooled, not held as a field.
    assert parse(form(part("a", "y" * 101, filename="f")), limits=Limits(max_field_size=100))[1]["a"].size == 101


def test_an_error_closes_the_temporary_files():
    parser = MultipartParser(B.encode())
    parser.feed(part("f", b"data", filename="f.bin"))
    upload = parser._uploads[0]
    with pytest.raises(HTTPError):
        parser.finish()  # unterminated
    assert upload.file.closed


def test_linear_time_on_hostile_shapes():
    # Many near-delimiters, a header block of semicolons and quotes, CRs everywhere.
    near = (b"\r\n--" + B[:-1].encode()) * 20000
    assert parse(form(part("f", near, filename="x")), 1000)[1]["f"].size == len(near)
    disp = 'form-data; name="a"' + '; x="' * 1500
    body = f"--{B}\r\nContent-Disposition: {disp}\r\n\r\nv\r\n--{B}--".encode()
    assert parse(body)[0] == {"a": "v"}
    crs = b"\r" * 200000
    assert parse(form(part("c", crs, filename="c")), 4096)[1]["c"].size == len(crs)


# --- through the app -----------------------------------------------------------

HANDLER = """
def handler(req, res):
    files = {}
    for name, value in req.files.items():
        items = value if isinstance(value, list) else [value]
        files[name] = [[f.filename, f.content_type, f.read().decode("latin-1")] for f in items]
    return {"body": req.body, "files": files}
"""


class CountingInput(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[int] = []

    def read(self, size: int = -1) -> bytes:
        chunk = super().read(size)
        self.reads.append(len(chunk))
        return chunk


@pytest.fixture
def app(tmp_path):
    pages = write_tree(tmp_path, {
        "api/up.py": HANDLER,
        "api/big.py": HANDLER + '\nconfig = {"body_parser": {"size_limit": "3mb"}}\n',
        "api/raw.py": """
            def handler(req, res):
                raw = req.raw_body
                return {"raw": len(raw), "body": req.body, "n": len(req.files)}
        """,
        "api/late_raw.py": """
            def handler(req, res):
                req.body
                return {"raw": len(req.raw_body)}
        """,
        "api/off.py": """
            config = {"body_parser": False}
            def handler(req, res):
                return {"body": req.body, "files": req.files, "rest": len(req.stream.read(100000))}
        """,
    })
    return App(pages)


def post(app, path, body, *, ct=CT, chunked=False, raise_server_exceptions=True):
    data = CountingInput(body)
    client = Client(app, raise_server_exceptions=raise_server_exceptions)
    res = client.post(path, body=body, headers={"content-type": ct}, chunked=chunked,
                      environ={"wsgi.input": data})
    return res, data


@pytest.mark.parametrize("chunked", [False, True])
def test_app_fields_in_body_uploads_in_files(app, chunked):
    res, _ = post(app, "/api/up", SAMPLE, chunked=chunked)
    assert res.status == 200
    out = res.json()
    assert out["body"] == {"title": "hello", "tag": ["a", "b"]}
    assert out["files"]["doc"] == [["notes.txt", "text/plain", "line1\r\nline2\r\n--XyZ-boundar"]]
    assert [f[0] for f in out["files"]["pics"]] == ["a.png", ""]


def test_app_streams_the_body_in_bounded_reads(app):
    data = b"z" * (2 * 1024 * 1024)
    res, stream = post(app, "/api/big", form(part("f", data, filename="f.bin")))
    assert res.status == 200
    assert len(res.json()["files"]["f"][0][2]) == len(data)
    assert max(stream.reads) <= 64 * 1024 and len(stream.reads) > 30  # never one big read


def test_app_errors_are_json_400_and_413(app):
    res, _ = post(app, "/api/up", MALFORMED["unterminated"])
    assert (res.status, res.json()) == (400, {"error": "Invalid multipart body: unterminated body"})
    res, stream = post(app, "/api/up", SAMPLE, ct="multipart/form-data")
    assert res.status == 400 and stream.reads == []  # no boundary: nothing read
    too_big = form(part("f", b"x" * (1024 * 1024 + 10), filename="f"))
    res, stream = post(app, "/api/up", too_big)
    assert (res.status, res.json()) == (413, {"error": "Body exceeded 1mb limit"})
    assert stream.reads == []  # refused from Content-Length, before the handler
    res, stream = post(app, "/api/up", too_big, chunked=True)
    assert res.status == 413
    assert sum(stream.reads) <= 1024 * 1024 + 1  # never read past the limit


def test_app_too_many_parts(app):
    res, _ = post(app, "/api/up", form(*[part("f", "x") for i in range(1001)]))
    assert (res.status, res.json()) == (400, {"error": "Too many fields"})
    res, _ = post(app, "/api/up", form(*[part("f", "x") for i in range(1000)]))
    assert res.status == 200 and len(res.json()["body"]["f"]) == 1000


def test_app_raw_body_first_then_body(app):
    res, _ = post(app, "/api/raw", SAMPLE)
    assert res.status == 200
    assert res.json()["raw"] == len(SAMPLE) and res.json()["n"] == 2
    # After a streamed parse the raw bytes are gone: a clear error, not silently None.
    res, _ = post(app, "/api/late_raw", SAMPLE, raise_server_exceptions=False)
    assert res.status == 500


def test_app_body_parser_off_leaves_the_stream(app):
    res, _ = post(app, "/api/off", SAMPLE)
    assert res.json() == {"body": None, "files": {}, "rest": len(SAMPLE)}


def test_app_no_body(app):
    res = Client(app).get("/api/up", headers={"content-type": CT})
    assert res.json() == {"body": None, "files": {}}


def test_app_limits_argument(tmp_path):
    app = App(write_tree(tmp_path, {"api/up.py": HANDLER}), limits=Limits(max_fields=2))
    res, _ = post(app, "/api/up", form(part("a", "1"), part("b", "2"), part("c", "3")))
    assert res.status == 400


def test_public_names():
    import nextapi

    assert nextapi.Limits is Limits and nextapi.UploadFile is UploadFile
    with pytest.raises(ValueError):
        Limits(max_fields=0)


# --- properties (Hypothesis, issue 5); their strategies are in tests/strategies.py ---------------


def encode_form(boundary: str, fields, files) -> bytes:
    out = []
    for name, value in fields:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                   + value.encode() + b"\r\n")
    for name, filename, data in files:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                   f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(out) + f"--{boundary}--\r\n".encode()


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in pairwise(points)]


@FEW
@given(BOUNDARY, FIELDS, FILES, st.lists(st.integers(0, 10**6), max_size=12))
def test_multipart_round_trips_however_it_is_cut(boundary, fields, files, cuts):
    body = encode_form(boundary, fields, files)
    delimiter = b"\r\n--" + boundary.encode()
    for _, value in fields:
        assume(delimiter not in b"\r\n" + value.encode() + b"\r\n")
    for _, _, data in files:
        assume(delimiter not in b"\r\n" + data + b"\r\n")
    form, uploads = parse_multipart(chunked(body, cuts), f"multipart/form-data; boundary={boundary}")
    assert form == grouped(fields)
    got = {}
    for name, value in uploads.items():
        got[name] = [(u.filename, u.read()) for u in (value if isinstance(value, list) else [value])]
    want: dict[str, list] = {}
    for name, filename, data in files:
        want.setdefault(name, []).append((filename, data))
    assert got == want


@FEW
@given(NASTY_BYTES, st.lists(st.integers(0, 10**6), max_size=6), st.integers(1, 30))
def test_multipart_arbitrary_bytes_only_4xx(body, cuts, max_fields):
    limits = Limits(max_fields=max_fields, max_part_header_size=64, max_field_size=200)
    for prefix in (b"", b"--B\r\n", b"--B\r\nContent-Disposition: form-data; name=a\r\n\r\n"):
        only_4xx(parse_multipart, chunked(prefix + body, cuts), "multipart/form-data; boundary=B", limits)


@FEW
@given(BOUNDARY, FIELDS, FILES, st.data())
def test_multipart_truncated_is_400(boundary, fields, files, data):
    body = encode_form(boundary, fields, files)
    # Cutting "\r\n" after the close delimiter leaves a whole form; cutting 3 bytes or more does not.
    cut = data.draw(st.integers(3, len(body) - 1))
    out = only_4xx(parse_multipart, [body[:-cut]], f"multipart/form-data; boundary={boundary}")
    assert isinstance(out, HTTPError) and out.status == 400
