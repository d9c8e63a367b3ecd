"""HTML pages beside the API (R61): the same trie and precedence as API routes."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from nextapi import App, BuildError
from nextapi.frontend import Frontend
from nextapi.testing import Client
from tests.helpers import write_tree

API = "def handler(req, res):\n    return {'api': req.path, 'query': req.query}\n"


def page(name: str) -> str:
    return f"<!doctype html><title>{name}</title>"


def pages_client(tmp_path: Path, names: list[str], *, dev: bool = False, extra: dict | None = None) -> Client:
    files = {"api/hello.py": API, **{n: page(n) for n in names}, **(extra or {})}
    return Client(App(write_tree(tmp_path, files), dev=dev))


def served(client: Client, path: str) -> str | None:
    """The page file that answered, or None for a 404."""
    resp = client.get(path)
    if resp.status == 404:
        return None
    assert resp.status == 200, (path, resp.status)
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    return resp.text.split("<title>")[1].split("</title>")[0]


@pytest.fixture
def client(tmp_path):
    return pages_client(tmp_path, [
        "index.html", "about.html", "posts/[id].html", "posts/new.html", "posts/index.html",
        "[user]/profile.html", "docs/[...slug].html", "shop/[[...path]].html", "blog/index.html",
        "apis.html", "api-docs.html",
    ])


@pytest.mark.parametrize("path, file", [
    ("/", "index.html"),
    ("/about", "about.html"),
    ("/posts", "posts/index.html"),
    ("/posts/42", "posts/[id].html"),
    ("/posts/anything-at-all", "posts/[id].html"),
    ("/posts/new", "posts/new.html"),  # static beats [param]
    ("/ada/profile", "[user]/profile.html"),
    ("/docs/a", "docs/[...slug].html"),
    ("/docs/a/b/c", "docs/[...slug].html"),
    ("/shop", "shop/[[...path]].html"),
    ("/shop/x/y", "shop/[[...path]].html"),
    ("/blog", "blog/index.html"),
    ("/apis", "apis.html"),  # only /api and /api/... belong to the API
    ("/api-docs", "api-docs.html"),
])
def test_html_files_are_pages_with_the_api_mapping(client, path, file):
    assert served(client, path) == file


@pytest.mark.parametrize("path", [
    "/index", "/about.html", "/index.html", "/posts/1/2", "/docs", "/missing", "/ada", "/ada/profile/x",
    "/posts/%2e%2e", "/posts/.hidden",
])
def test_paths_that_are_not_pages_are_404(client, path):
    assert served(client, path) is None


def test_a_dynamic_page_is_served_for_any_value_and_the_page_reads_it_itself(client):
    resp = client.get("/posts/%F0%9F%8E%89?x=1")
    assert resp.status == 200
    assert "posts/[id].html" in resp.text


def test_pages_have_etag_last_modified_304_and_head(client):
    first = client.get("/about")
    assert first.headers["ETag"] and first.headers["Last-Modified"]
    again = client.get("/about", headers={"If-None-Match": first.headers["ETag"]})
    assert (again.status, again.content) == (304, b"")
    since = client.get("/about", headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status == 304
    head = client.head("/about")
    assert (head.status, head.content) == (200, b"")
    assert head.headers["Content-Length"] == first.headers["Content-Length"]
    assert head.headers["Content-Type"] == "text/html; charset=utf-8"


def test_post_to_a_page_is_405(client):
    resp = client.post("/about", json={})
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET, HEAD, OPTIONS"


def test_api_routes_win_and_html_under_api_is_not_a_page(tmp_path):
    client = pages_client(tmp_path, ["api/hello.html", "api/docs.html", "index.html"])
    assert client.get("/api/hello").json()["api"] == "/api/hello"
    resp = client.get("/api/docs")
    assert (resp.status, resp.json()) == (404, {"error": "Not Found"})


def test_api_requests_never_touch_pages_or_public_files(tmp_path, monkeypatch):
    client = pages_client(tmp_path, ["index.html", "[...all].html"])

    def boom(*args):
        raise AssertionError("an /api request reached the frontend")

    monkeypatch.setattr(Frontend, "respond", boom)
    assert client.get("/api/hello").status == 200
    assert client.get("/api/nope").json() == {"error": "Not Found"}
    assert client.get("/api").json() == {"error": "Not Found"}


def test_a_page_at_slash_api_is_never_served_and_the_build_says_so(tmp_path, caplog):
    client = pages_client(tmp_path, ["api.html"], extra={"api/index.py": API})
    assert client.get("/api").json()["api"] == "/api"
    assert any("page api.html is never served" in r.getMessage() for r in caplog.records)


def test_a_catch_all_page_at_the_root_never_takes_api_paths(tmp_path):
    client = pages_client(tmp_path, ["[...all].html"])
    assert served(client, "/anything/here") == "[...all].html"
    assert client.get("/api/hello").json()["api"] == "/api/hello"
    assert client.get("/api/nope").json() == {"error": "Not Found"}
    assert client.get("/api").json() == {"error": "Not Found"}


def test_private_hidden_and_non_html_files_are_not_pages(tmp_path):
    client = pages_client(tmp_path, ["_app.html", ".secret.html", "_parts/x.html", ".git/x.html", "ok.html"],
                          extra={"helper.py": "X = 1\n", "notes.txt": "hi", "data.json": "{}"})
    for path in ("/_app", "/.secret", "/_parts/x", "/.git/x", "/helper", "/helper.py",
                 "/notes.txt", "/notes", "/data.json"):
        assert client.get(path).status == 404, path
    assert served(client, "/ok") == "ok.html"


def test_a_page_symlinked_from_outside_is_not_a_page(tmp_path):
    outside = tmp_path / "elsewhere.html"
    outside.write_text("<title>outside</title>")
    pages = write_tree(tmp_path, {"api/hello.py": API, "index.html": page("index.html")})
    (pages / "leak.html").symlink_to(outside)
    client = Client(App(pages))
    assert client.get("/leak").status == 404


def test_a_page_swapped_for_a_symlink_out_after_the_build_is_404(tmp_path):
    client = pages_client(tmp_path, ["about.html"])
    secret = tmp_path / "secret.html"
    secret.write_text("SECRET")
    about = tmp_path / "pages" / "about.html"
    about.unlink()
    about.symlink_to(secret)
    resp = client.get("/about")
    assert resp.status == 404
    assert "SECRET" not in resp.text


# 404 page ---------------------------------------------------------------------
def test_a_missing_page_gets_pages_404_html_with_status_404(tmp_path):
    client = pages_client(tmp_path, ["index.html", "404.html"])
    for path in ("/missing", "/404", "/.env", "/deep/er/path"):
        resp = client.get(path)
        assert resp.status == 404, path
        assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
        assert resp.text == page("404.html")
        assert resp.headers.get("ETag") is None
    head = client.head("/missing")
    assert (head.status, head.content) == (404, b"")
    assert head.headers["Content-Length"] == str(len(page("404.html")))


def test_the_404_page_is_never_sent_for_api_paths(tmp_path):
    client = pages_client(tmp_path, ["404.html"])
    resp = client.get("/api/missing")
    assert (resp.status, resp.json()) == (404, {"error": "Not Found"})


def test_without_404_html_a_missing_page_is_the_json_404(client):
    resp = client.get("/missing")
    assert (resp.status, resp.json()) == (404, {"error": "Not Found"})


# Build errors: the same conflict rules as the API (R5) --------------------------
@pytest.mark.parametrize("names, both", [
    (["about.html", "about/index.html"], ("about.html", "about/index.html")),
    (["posts/[id].html", "posts/[slug].html"], ("posts/[id].html", "posts/[slug].html")),
    (["docs/[...a].html", "docs/[[...b]].html"], ("docs/[...a].html", "docs/[[...b]].html")),
    (["[a]/[a].html"], ("[a]/[a].html",)),
])
def test_page_conflicts_fail_the_build_naming_the_files(tmp_path, names, both):
    with pytest.raises(BuildError) as info:
        pages_client(tmp_path, names)
    for name in both:
        assert name in str(info.value)


def test_a_malformed_page_name_fails_the_build(tmp_path):
    with pytest.raises(BuildError, match=r"post\]x"):
        pages_client(tmp_path, ["post]x.html"])


# Dev mode -----------------------------------------------------------------------
def test_dev_mode_picks_up_new_changed_and_deleted_pages(tmp_path):
    client = pages_client(tmp_path, ["index.html"], dev=True)
    pages = tmp_path / "pages"
    assert served(client, "/new") is None
    (pages / "new.html").write_text(page("new.html"))
    assert served(client, "/new") == "new.html"
    (pages / "new.html").write_text(page("new.html, edited"))
    assert served(client, "/new") == "new.html, edited"
    os.remove(pages / "new.html")
    assert served(client, "/new") is None
    (pages / "posts").mkdir()
    (pages / "posts" / "[id].html").write_text(page("post"))
    assert served(client, "/posts/9") == "post"
    (pages / "404.html").write_text(page("404"))
    assert client.get("/gone").text == page("404")


def test_an_api_only_app_gains_pages_in_dev_mode(tmp_path):
    pages = write_tree(tmp_path, {"api/hello.py": API})
    client = Client(App(pages, dev=True))
    assert client.get("/").status == 404
    (pages / "index.html").write_text(page("index.html"))
    assert served(client, "/") == "index.html"
