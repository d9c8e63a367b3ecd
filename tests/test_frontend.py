"""Files in public/ beside the pages folder (R60), through real requests."""
from __future__ import annotations

import os
import wsgiref.util
from email.utils import formatdate
from pathlib import Path
from wsgiref.validate import validator

import pytest

from nextapi import App, BuildError
from nextapi.testing import Client
from tests.helpers import write_tree

API = "def handler(req, res):\n    return {'api': req.path}\n"
CSS = "body { color: red }\n"
SECRET = "TOP-SECRET-do-not-serve"
MTIME = 1_700_000_000  # a fixed mtime, so nothing depends on the clock


def write_public(base: Path, files: dict[str, str | bytes]) -> Path:
    public = base / "public"
    public.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = public / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        os.utime(path, (MTIME, MTIME))
    return public


@pytest.fixture
def site(tmp_path: Path):
    """site(public={...}, pages={...}, dev=False) -> Client for tmp_path/pages + tmp_path/public."""

    def make(public: dict[str, str | bytes] | None = None, pages: dict[str, str] | None = None,
             dev: bool = False) -> Client:
        pages_dir = write_tree(tmp_path, {"api/hello.py": API, **(pages or {})})
        write_public(tmp_path, public or {})
        return Client(App(pages_dir, dev=dev))

    return make


@pytest.fixture
def client(site, tmp_path):
    return site({
        "style.css": CSS,
        "app.js": "console.log(1)\n",
        "data.json": "{}",
        "logo.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
        "icon.svg": "<svg/>",
        "notes.txt": "hello",
        "blob.unknownext": b"\x00\x01",
        "archive.tar.gz": b"\x1f\x8b",
        "img/deep/pic.webp": b"RIFF",
        "hello world.txt": "spaces",
        "café.txt": "unicode",
        "digits.txt": "0123456789",
        "empty.txt": "",
        ".well-known/security.txt": "Contact: mailto:x@example.com\n",
    })


# Content and types ----------------------------------------------------------
@pytest.mark.parametrize("path, ctype", [
    ("/style.css", "text/css; charset=utf-8"),
    ("/app.js", "text/javascript; charset=utf-8"),
    ("/data.json", "application/json; charset=utf-8"),
    ("/logo.png", "image/png"),
    ("/icon.svg", "image/svg+xml; charset=utf-8"),
    ("/notes.txt", "text/plain; charset=utf-8"),
    ("/blob.unknownext", "application/octet-stream"),
    ("/archive.tar.gz", "application/gzip"),
    ("/img/deep/pic.webp", "image/webp"),
])
def test_public_files_are_served_at_the_root_with_a_content_type_from_the_name(client, tmp_path, path, ctype):
    resp = client.get(path)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == ctype
    assert resp.content == (tmp_path / "public" / path[1:]).read_bytes()
    assert resp.headers["Content-Length"] == str(len(resp.content))
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_names_with_spaces_and_unicode_are_reached_percent_encoded(client):
    assert client.get("/hello%20world.txt").text == "spaces"
    assert client.get("/caf%C3%A9.txt").text == "unicode"


def test_well_known_is_the_one_dot_folder_served(client):
    assert client.get("/.well-known/security.txt").status == 200


def test_an_empty_file_is_an_empty_200(client):
    resp = client.get("/empty.txt")
    assert (resp.status, resp.content, resp.headers["Content-Length"]) == (200, b"", "0")


def test_api_routes_still_answer_beside_public_files(client):
    assert client.get("/api/hello").json() == {"api": "/api/hello"}


def test_a_missing_file_is_the_json_404(client):
    resp = client.get("/nope.css")
    assert resp.status == 404
    assert resp.json() == {"error": "Not Found"}


# Caching: ETag, Last-Modified, 304 -----------------------------------------
def test_etag_comes_from_size_and_mtime_and_last_modified_from_mtime(client, tmp_path):
    resp = client.get("/style.css")
    st = os.stat(tmp_path / "public" / "style.css")
    assert resp.headers["ETag"] == f'"{st.st_size:x}-{st.st_mtime_ns:x}"'
    assert resp.headers["Last-Modified"] == formatdate(MTIME, usegmt=True)
    assert resp.headers["Cache-Control"] == "public, max-age=0"


@pytest.mark.parametrize("inm", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
def test_if_none_match_answers_304_without_a_body(client, inm):
    etag = client.get("/style.css").headers["ETag"]
    resp = client.get("/style.css", headers={"If-None-Match": inm.format(etag=etag)})
    assert resp.status == 304
    assert resp.content == b""
    assert resp.headers["ETag"] == etag
    assert resp.headers.get("Content-Type") is None and resp.headers.get("Content-Length") is None


def test_a_different_etag_gets_the_file(client):
    resp = client.get("/style.css", headers={"If-None-Match": '"nope"'})
    assert (resp.status, resp.text) == (200, CSS)


@pytest.mark.parametrize("since, status", [
    (MTIME, 304), (MTIME + 3600, 304), (MTIME - 1, 200), (None, 200),
])
def test_if_modified_since(client, since, status):
    value = "not a date" if since is None else formatdate(since, usegmt=True)
    resp = client.get("/style.css", headers={"If-Modified-Since": value})
    assert resp.status == status


def test_if_none_match_wins_over_if_modified_since(client):
    later = formatdate(MTIME + 3600, usegmt=True)
    resp = client.get("/style.css", headers={"If-None-Match": '"stale"', "If-Modified-Since": later})
    assert resp.status == 200


def test_the_etag_changes_when_the_file_does(client, tmp_path):
    before = client.get("/style.css").headers["ETag"]
    path = tmp_path / "public" / "style.css"
    path.write_text(CSS + "p {}\n")
    os.utime(path, (MTIME + 10, MTIME + 10))
    resp = client.get("/style.css", headers={"If-None-Match": before})
    assert resp.status == 200
    assert resp.text == CSS + "p {}\n"
    assert resp.headers["ETag"] != before


def test_head_sends_the_headers_without_the_body(client):
    get = client.get("/logo.png")
    head = client.head("/logo.png")
    assert head.status == 200
    assert head.content == b""
    for name in ("Content-Type", "Content-Length", "ETag", "Last-Modified"):
        assert head.headers[name] == get.headers[name]


def test_head_gets_304_too(client):
    etag = client.get("/style.css").headers["ETag"]
    assert client.head("/style.css", headers={"If-None-Match": etag}).status == 304


# Preconditions: If-Match, If-Unmodified-Since, 412 ---------------------------
def _status(client, headers, path="/style.css", method="GET"):
    return client.request(method, path, headers=headers).status


def test_if_match_with_the_current_etag_serves_the_file_and_after_a_change_is_412(client, tmp_path):
    etag = client.get("/style.css").headers["ETag"]
    resp = client.get("/style.css", headers={"If-Match": etag})
    assert (resp.status, resp.text) == (200, CSS)
    path = tmp_path / "public" / "style.css"
    path.write_text(CSS + "p {}\n")
    os.utime(path, (MTIME + 10, MTIME + 10))
    assert _status(client, {"If-Match": etag}) == 412  # the version the client holds is gone


@pytest.mark.parametrize("match, no_match", [
    ("{etag}", '"other"'),
    ("{etag}", "W/{etag}"),  # strong comparison: a weak tag never matches
    ('"a", {etag}, "b"', '"a", W/{etag}, "b"'),
    ("*", '"*"'),  # the bare star is "any file"; a quoted one is just a tag
])
def test_if_match_is_a_strong_comparison_against_a_list_or_star(client, match, no_match):
    etag = client.get("/style.css").headers["ETag"]
    resp = client.get("/style.css", headers={"If-Match": match.format(etag=etag)})
    assert (resp.status, resp.text) == (200, CSS)
    assert _status(client, {"If-Match": no_match.format(etag=etag)}) == 412


def test_a_failed_precondition_is_the_json_412_and_a_missing_file_stays_404(client):
    resp = client.get("/style.css", headers={"If-Match": '"stale"'})
    assert resp.status == 412
    assert resp.json() == {"error": "Precondition Failed"}
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert resp.headers["Content-Length"] == str(len(resp.content))
    assert _status(client, {"If-Match": "*"}, path="/nope.css") == 404  # 412 is only for a file that exists


def test_if_unmodified_since_is_412_only_when_the_file_changed_after_the_date(site, tmp_path):
    client = site({"a.txt": "a"})
    assert _status(client, {"If-Unmodified-Since": formatdate(MTIME - 1, usegmt=True)}, "/a.txt") == 412
    for ok in (formatdate(MTIME, usegmt=True), formatdate(MTIME + 3600, usegmt=True),
               "not a date", "Mon, 99 Foo 2023 99:99:99 GMT", ""):  # a bad date is ignored
        assert _status(client, {"If-Unmodified-Since": ok}, "/a.txt") == 200, ok
    os.utime(tmp_path / "public" / "a.txt", ns=(MTIME * 10**9 + 700_000_000,) * 2)
    # compared to the second, as Last-Modified is sent: a fraction later is not "modified since"
    assert _status(client, {"If-Unmodified-Since": formatdate(MTIME, usegmt=True)}, "/a.txt") == 200
    assert _status(client, {"If-Unmodified-Since": formatdate(MTIME - 1, usegmt=True)}, "/a.txt") == 412


def test_preconditions_are_evaluated_in_the_rfc_9110_order(client):
    etag = client.get("/style.css").headers["ETag"]
    past, future = formatdate(MTIME - 1, usegmt=True), formatdate(MTIME + 3600, usegmt=True)
    # If-Match decides; If-Unmodified-Since only counts when If-Match is absent
    assert _status(client, {"If-Match": etag, "If-Unmodified-Since": past}) == 200
    assert _status(client, {"If-Match": '"stale"', "If-Unmodified-Since": future}) == 412
    # both come before If-None-Match / If-Modified-Since and their 304
    assert _status(client, {"If-Match": '"stale"', "If-None-Match": etag}) == 412
    assert _status(client, {"If-Unmodified-Since": past, "If-None-Match": etag}) == 412
    assert _status(client, {"If-Unmodified-Since": past, "If-Modified-Since": future}) == 412
    assert _status(client, {"If-Match": etag, "If-None-Match": etag}) == 304


def test_head_gets_412_without_a_body(client):
    for headers in ({"If-Match": '"stale"'}, {"If-Unmodified-Since": formatdate(MTIME - 1, usegmt=True)}):
        resp = client.head("/style.css", headers=headers)
        assert (resp.status, resp.content) == (412, b"")
        assert resp.headers["Content-Type"] == "application/json; charset=utf-8"


def test_a_range_with_a_failing_precondition_is_412_not_206(client):
    etag = client.get("/digits.txt").headers["ETag"]
    resp = client.get("/digits.txt", headers={"Range": "bytes=0-1", "If-Match": '"stale"'})
    assert resp.status == 412
    assert resp.json() == {"error": "Precondition Failed"}
    assert resp.headers.get("Content-Range") is None
    past = formatdate(MTIME - 1, usegmt=True)
    assert _status(client, {"Range": "bytes=0-1", "If-Unmodified-Since": past}, "/digits.txt") == 412
    assert _status(client, {"Range": "bytes=99-", "If-Match": '"stale"'}, "/digits.txt") == 412  # before 416
    resp = client.get("/digits.txt", headers={"Range": "bytes=2-3", "If-Match": etag})  # a resumed download
    assert (resp.status, resp.content) == (206, b"23")


def test_pages_answer_412_the_same_way(site):
    client = site(pages={"about.html": "<h1>About</h1>"})
    etag = client.get("/about").headers["ETag"]
    assert _status(client, {"If-Match": etag}, "/about") == 200
    assert _status(client, {"If-Match": '"stale"'}, "/about") == 412


# Ranges ---------------------------------------------------------------------
@pytest.mark.parametrize("header, body, content_range", [
    ("bytes=0-3", b"0123", "bytes 0-3/10"),
    ("bytes=4-", b"456789", "bytes 4-9/10"),
    ("bytes=-3", b"789", "bytes 7-9/10"),
    ("bytes=-30", b"0123456789", "bytes 0-9/10"),
    ("bytes=8-100", b"89", "bytes 8-9/10"),
    ("bytes=9-9", b"9", "bytes 9-9/10"),
    ("BYTES = 2 - 4", b"234", "bytes 2-4/10"),
])
def test_a_single_byte_range_answers_206(client, header, body, content_range):
    resp = client.get("/digits.txt", headers={"Range": header})
    assert resp.status == 206
    assert resp.content == body
    assert resp.headers["Content-Range"] == content_range
    assert resp.headers["Content-Length"] == str(len(body))
    assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize("path, header", [
    ("/digits.txt", "bytes=10-"), ("/digits.txt", "bytes=99-100"), ("/digits.txt", "bytes=-0"),
    ("/empty.txt", "bytes=0-"), ("/empty.txt", "bytes=-5"),
])
def test_an_unsatisfiable_range_answers_416_with_the_size(client, path, header):
    resp = client.get(path, headers={"Range": header})
    assert resp.status == 416
    size = 10 if path == "/digits.txt" else 0
    assert resp.headers["Content-Range"] == f"bytes */{size}"
    assert resp.json() == {"error": "Range Not Satisfiable"}


@pytest.mark.parametrize("header", [
    "bytes=0-1,4-5",  # several ranges: the whole file is a valid answer
    "bytes=5-2", "bytes=abc", "items=0-1", "bytes=", "bytes=-", "0-1", "bytes=١-٢",
])
def test_ranges_we_do_not_serve_get_the_whole_file(client, header):
    resp = client.get("/digits.txt", headers={"Range": header})
    assert (resp.status, resp.content) == (200, b"0123456789")
    assert resp.headers.get("Content-Range") is None


def test_if_range_with_the_current_etag_or_date_keeps_the_range(client):
    first = client.get("/digits.txt")
    for validator_value in (first.headers["ETag"], first.headers["Last-Modified"]):
        resp = client.get("/digits.txt", headers={"Range": "bytes=0-1", "If-Range": validator_value})
        assert (resp.status, resp.content) == (206, b"01")


@pytest.mark.parametrize("if_range", ['"stale"', "W/{etag}", formatdate(MTIME - 60, usegmt=True), "garbage"])
def test_if_range_that_does_not_match_sends_the_whole_file(client, if_range):
    etag = client.get("/digits.txt").headers["ETag"]
    resp = client.get("/digits.txt", headers={"Range": "bytes=0-1", "If-Range": if_range.format(etag=etag)})
    assert (resp.status, resp.content) == (200, b"0123456789")


def test_head_with_a_range_answers_206_headers_only(client):
    resp = client.head("/digits.txt", headers={"Range": "bytes=2-5"})
    assert resp.status == 206
    assert resp.content == b""
    assert resp.headers["Content-Range"] == "bytes 2-5/10"
    assert resp.headers["Content-Length"] == "4"


def test_a_range_applies_to_a_conditional_request_only_when_it_is_not_a_304(client):
    etag = client.get("/digits.txt").headers["ETag"]
    resp = client.get("/digits.txt", headers={"Range": "bytes=0-1", "If-None-Match": etag})
    assert resp.status == 304


# Streaming ------------------------------------------------------------------
def test_files_are_streamed_in_64k_chunks(site):
    data = os.urandom(300_000)
    resp = site({"big.bin": data}).get("/big.bin")
    assert resp.content == data
    assert len(resp.chunks) == 5
    assert all(len(c) <= 64 * 1024 for c in resp.chunks)


def test_a_range_of_a_big_file_is_streamed_exactly(site):
    data = os.urandom(200_000)
    resp = site({"big.bin": data}).get("/big.bin", headers={"Range": "bytes=1000-150999"})
    assert resp.status == 206
    assert resp.content == data[1000:151000]
    assert all(len(c) <= 64 * 1024 for c in resp.chunks)


def _environ(path: str, **extra: str) -> dict:
    env = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
           "SERVER_NAME": "test", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1"}
    wsgiref.util.setup_testing_defaults(env)
    env.update(extra)
    return env


def _open_fds_to(path: Path) -> int:
    fd_dir = Path("/proc/self/fd")
    count = 0
    for fd in fd_dir.iterdir():
        try:
            count += os.readlink(fd) == str(path)
        except OSError:
            pass
    return count


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see open files")
def test_a_1gb_file_is_never_read_into_memory_and_is_closed_when_the_server_stops(tmp_path):
    pages = write_tree(tmp_path, {"api/hello.py": API})
    (tmp_path / "public").mkdir()
    huge = tmp_path / "public" / "huge.bin"
    with open(huge, "wb") as f:  # sparse: no disk space used
        f.truncate(1 << 30)
    app = validator(App(pages))
    started = []
    body = app(_environ("/huge.bin"), lambda status, headers, exc=None: started.append((status, headers)))
    assert started[0][0] == "200 OK"
    assert dict(started[0][1])["Content-Length"] == str(1 << 30)
    it = iter(body)
    assert len(next(it)) == 64 * 1024  # one chunk read, not the whole file
    assert _open_fds_to(huge) == 1
    body.close()  # a client that went away: the server closes the body
    assert _open_fds_to(huge) == 0


def test_the_server_file_wrapper_sends_whole_files_and_ranges_stay_exact(client):
    wrapper = {"wsgi.file_wrapper": wsgiref.util.FileWrapper}
    assert client.get("/digits.txt", environ=wrapper).content == b"0123456789"
    resp = client.get("/digits.txt", headers={"Range": "bytes=2-3"}, environ=wrapper)
    assert (resp.status, resp.content) == (206, b"23")


# Methods --------------------------------------------------------------------
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_other_methods_on_a_file_answer_405_with_allow(client, method):
    resp = client.request(method, "/style.css")
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert resp.json() == {"error": "Method Not Allowed"}


def test_options_on_a_file_answers_204_with_allow(client):
    resp = client.options("/style.css")
    assert (resp.status, resp.headers["Allow"]) == (204, "GET, HEAD, OPTIONS")


def test_a_trailing_slash_redirects_like_api_paths(client):
    resp = client.get("/style.css/")
    assert (resp.status, resp.headers["Location"]) == (308, "/style.css")


# Path safety ----------------------------------------------------------------
@pytest.fixture
def fortress(site, tmp_path):
    """public/ with traps: a secret beside it, dotfiles, symlinks in and out."""
    (tmp_path / "secret.txt").write_text(SECRET)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text(SECRET)
    client_files = {
        "ok.txt": "ok",
        "sub/inner.txt": "inner",
        ".env": f"KEY={SECRET}",
        ".hidden/x.txt": SECRET,
        "sub/.secret": SECRET,
        ".well-known/.private": SECRET,
    }
    write_public(tmp_path, client_files)
    public = tmp_path / "public"
    (public / "link-out.txt").symlink_to(tmp_path / "secret.txt")
    (public / "dir-out").symlink_to(tmp_path / "outside", target_is_directory=True)
    (public / "link-in.txt").symlink_to(public / "ok.txt")
    (public / "abs-link").symlink_to("/etc/passwd")
    return site(pages={"helper.py": f"SECRET = {SECRET!r}\n", "page.html": "<p>page</p>",
                       "api/data.json": SECRET, "api/_db.py": f"S = {SECRET!r}\n"})


TRAVERSALS = [
    "/../secret.txt", "/sub/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
    "/.%2e/secret.txt", "/%2e./secret.txt", "/..%2fsecret.txt", "/sub%2f..%2f..%2fsecret.txt",
    "/sub/..%2F..%2Fsecret.txt", "/%252e%252e/secret.txt", "/%2e%2e%2fsecret.txt",
    "/..%5csecret.txt", "/sub/..%5c..%5csecret.txt", "/ok.txt%00", "/ok.txt%00.png",
    "/%00/../secret.txt", "//etc/passwd", "/etc/passwd", "/%2fetc%2fpasswd", "/abs-link",
    "/.env", "/%2eenv", "/.hidden/x.txt", "/sub/.secret", "/.well-known/.private",
    "/link-out.txt", "/dir-out/secret.txt", "/public/ok.txt", "/./ok.txt", "/sub/./inner.txt",
    "/helper.py", "/helper", "/page.py", "/api/data.json", "/api/_db.py", "/api/_db",
    "/api/hello.py", "/pages/helper.py", "/../pages/helper.py", "/../outside/secret.txt",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_nothing_outside_public_or_pages_is_ever_served(fortress, path):
    resp = fortress.get(path)
    assert resp.status == 404, path
    assert SECRET not in resp.text
    assert "root:" not in resp.text


@pytest.mark.parametrize("raw", [
    "/..\\secret.txt", "/\\..\\secret.txt", "/sub\\..\\..\\secret.txt", "/ok.txt\x00", "/ok.txt\x00.png",
    "/\x00../secret.txt", "/C:\\secret.txt", "/..", "/../", "/...", "/sub/..",
])
def test_raw_path_info_with_backslashes_nul_or_dots_is_404(fortress, raw):
    resp = fortress.get("/", environ={"PATH_INFO": raw})
    assert resp.status in (404, 308), raw  # a trailing slash may first redirect to the same path without it
    if resp.status == 308:
        resp = fortress.get("/", environ={"PATH_INFO": resp.headers["Location"]})
        assert resp.status == 404, raw
    assert SECRET not in resp.text


def test_the_safe_files_beside_the_traps_are_served(fortress):
    assert fortress.get("/ok.txt").text == "ok"
    assert fortress.get("/sub/inner.txt").text == "inner"
    assert fortress.get("/link-in.txt").text == "ok"  # a symlink that stays inside is fine
    assert fortress.get("/page").text == "<p>page</p>"


def test_a_file_swapped_for_a_symlink_out_after_the_build_is_404(fortress, tmp_path):
    assert fortress.get("/ok.txt").status == 200
    target = tmp_path / "public" / "ok.txt"
    target.unlink()
    target.symlink_to(tmp_path / "secret.txt")
    resp = fortress.get("/ok.txt")
    assert resp.status == 404
    assert SECRET not in resp.text


def test_a_fifo_in_public_is_not_served_and_does_not_hang(site, tmp_path):
    write_public(tmp_path, {"ok.txt": "ok"})
    os.mkfifo(tmp_path / "public" / "pipe")
    client = site()
    assert client.get("/pipe").status == 404


def test_a_file_removed_after_the_build_is_404(client, tmp_path):
    (tmp_path / "public" / "notes.txt").unlink()
    assert client.get("/notes.txt").status == 404


# API first, conflicts, no public folder --------------------------------------
def test_api_paths_never_reach_public_files(site, caplog):
    client = site(public={"api/hello": "public", "api/other.txt": "public"})
    assert client.get("/api/hello").json() == {"api": "/api/hello"}
    resp = client.get("/api/other.txt")
    assert resp.status == 404
    assert resp.json() == {"error": "Not Found"}
    assert any("public/api/other.txt is never served" in r.getMessage() for r in caplog.records)


def test_a_public_file_and_a_page_at_one_url_fail_the_build_naming_both(tmp_path):
    pages = write_tree(tmp_path, {"about.html": "<p>page</p>"})
    write_public(tmp_path, {"about": "file"})
    with pytest.raises(BuildError) as info:
        App(pages)
    assert "public/about" in str(info.value) and "pages/about.html" in str(info.value)


def test_a_public_index_html_does_not_clash_with_the_index_page(site):
    client = site(public={"index.html": "<p>file</p>"}, pages={"index.html": "<p>page</p>"})
    assert client.get("/").text == "<p>page</p>"
    assert client.get("/index.html").text == "<p>file</p>"


def test_a_public_file_wins_over_a_dynamic_page(site):
    client = site(public={"posts/feed.xml": "<rss/>"}, pages={"posts/[id].html": "<p>post</p>"})
    assert client.get("/posts/feed.xml").text == "<rss/>"
    assert client.get("/posts/7").text == "<p>post</p>"


def test_without_public_or_pages_unknown_paths_stay_the_json_404(make_client):
    client = make_client({"api/hello.py": API})
    resp = client.get("/style.css")
    assert (resp.status, resp.json()) == (404, {"error": "Not Found"})


# Dev mode --------------------------------------------------------------------
def test_dev_mode_serves_new_changed_and_deleted_public_files(site, tmp_path):
    client = site(public={"a.txt": "one"}, dev=True)
    assert client.get("/a.txt").text == "one"
    public = tmp_path / "public"
    (public / "b.txt").write_text("new")
    assert client.get("/b.txt").text == "new"
    (public / "a.txt").write_text("changed!")
    assert client.get("/a.txt").text == "changed!"
    (public / "a.txt").unlink()
    assert client.get("/a.txt").status == 404
    (public / "nested").mkdir()
    (public / "nested" / "c.txt").write_text("deep")
    assert client.get("/nested/c.txt").text == "deep"


def test_dev_mode_picks_up_a_public_folder_created_after_start(tmp_path):
    pages = write_tree(tmp_path, {"api/hello.py": API})
    client = Client(App(pages, dev=True))
    assert client.get("/late.txt").status == 404
    write_public(tmp_path, {"late.txt": "here"})
    assert client.get("/late.txt").text == "here"


def test_outside_dev_mode_files_added_after_the_build_are_not_served(client, tmp_path):
    (tmp_path / "public" / "later.txt").write_text("later")
    assert client.get("/later.txt").status == 404

