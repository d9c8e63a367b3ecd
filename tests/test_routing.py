"""The folder is the router (R1–R6), through real requests."""
from __future__ import annotations

import os
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nextapi import App, BuildError
from nextapi.routing import STATIC, Route, compile_routes, match, parse_segment, scan
from tests.helpers import write_tree
from tests.strategies import FEW, SEGMENT

ECHO = """
def handler(req, res):
    return {"file": __file__.rsplit("pages/", 1)[1], "query": req.query}
"""


def tree(*names: str) -> dict[str, str]:
    return {name: ECHO for name in names}


def routed(client, path: str) -> tuple[int, str | None, dict | None]:
    resp = client.get(path)
    if resp.status != 200:
        return resp.status, None, None
    data = resp.json()
    return resp.status, data["file"], data["query"]


# R1 -----------------------------------------------------------------------
def test_every_py_file_is_a_route_but_private_and_data_files_are_not(make_client):
    client = make_client({
        "api/comments.py": ECHO,
        "api/_db.py": "X = 1\n",
        "api/.hidden.py": ECHO,
        "api/_private/secret.py": ECHO,
        "api/.dot/secret.py": ECHO,
        "api/comments.json": "[]",
        "api/notes.txt": "hi",
    })
    assert routed(client, "/api/comments")[1] == "api/comments.py"
    for path in ("/api/_db", "/api/.hidden", "/api/_private/secret", "/api/.dot/secret",
                 "/api/comments.json", "/api/notes.txt", "/api/notes", "/api/comments.py"):
        resp = client.get(path)
        assert resp.status == 404, path
        assert resp.json() == {"error": "Not Found"}


def test_pycache_is_never_a_route(make_client, tmp_path):
    client = make_client({"api/__pycache__/x.py": ECHO, "api/ok.py": ECHO})
    assert client.get("/api/__pycache__/x").status == 404
    assert client.get("/api/ok").status == 200


def test_missing_api_folder_is_a_clear_error_naming_the_path(tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    with pytest.raises(BuildError, match="api"):
        App(pages)
    with pytest.raises(BuildError, match=str(tmp_path / "nowhere")):
        App(tmp_path / "nowhere")


# R2 -----------------------------------------------------------------------
@pytest.mark.parametrize("path, file, query", [
    ("/api/comments", "api/comments.py", {}),
    ("/api", "api/index.py", {}),
    ("/api/comments/42", "api/comments/[id].py", {"id": "42"}),
    ("/api/ada/posts", "api/[user]/posts.py", {"user": "ada"}),
    ("/api/shop", "api/shop/index.py", {}),
])
def test_file_to_url_mapping(make_client, path, file, query):
    client = make_client(tree("api/comments.py", "api/index.py", "api/comments/[id].py",
                              "api/[user]/posts.py", "api/shop/index.py"))
    assert routed(client, path) == (200, file, query)


def test_file_and_folder_of_one_name_live_side_by_side(make_client):
    client = make_client(tree("api/comments.py", "api/comments/[id].py"))
    assert routed(client, "/api/comments")[1] == "api/comments.py"
    assert routed(client, "/api/comments/7")[1] == "api/comments/[id].py"


# R3 -----------------------------------------------------------------------
def test_catch_all_matches_one_or_more_segments_as_a_list(make_client):
    client = make_client(tree("api/users/[...slug].py"))
    assert routed(client, "/api/users/1")[2] == {"slug": ["1"]}
    assert routed(client, "/api/users/1/2/3")[2] == {"slug": ["1", "2", "3"]}
    assert client.get("/api/users").status == 404


def test_optional_catch_all_also_matches_the_parent_without_the_key(make_client):
    client = make_client(tree("api/post/[[...slug]].py"))
    assert routed(client, "/api/post") == (200, "api/post/[[...slug]].py", {})
    assert routed(client, "/api/post/a/b")[2] == {"slug": ["a", "b"]}


def test_route_parameters_win_over_query_keys(make_client):
    client = make_client(tree("api/post/[[...slug]].py", "api/p/[id].py"))
    assert routed(client, "/api/post/a/b?slug=z")[2] == {"slug": ["a", "b"]}
    assert routed(client, "/api/p/5?id=9&x=1")[2] == {"id": "5", "x": "1"}


# R4 -----------------------------------------------------------------------
PRECEDENCE = tree(
    "api/[post]/comments.py",
    "api/[post]/[comment].py",
    "api/static/index.py",
    "api/static/fixed.py",
    "api/static/[id].py",
    "api/static/[id]/deep.py",
    "api/files/[...path].py",
    "api/files/readme.py",
    "api/opt/[[...rest]].py",
    "api/opt/[id]/x.py",
)


@pytest.mark.parametrize("path, file", [
    ("/api/post-1/comments", "api/[post]/comments.py"),
    ("/api/post-1/other", "api/[post]/[comment].py"),
    ("/api/static/fixed", "api/static/fixed.py"),
    ("/api/static/7", "api/static/[id].py"),
    ("/api/static", "api/static/index.py"),
    ("/api/static/7/deep", "api/static/[id]/deep.py"),
    ("/api/files/readme", "api/files/readme.py"),
    ("/api/files/readme/more", "api/files/[...path].py"),
    ("/api/files/a/b", "api/files/[...path].py"),
    ("/api/opt/1/x", "api/opt/[id]/x.py"),
    # backtracking: [id] leads nowhere for /api/opt/1/y, so the optional catch-all takes it
    ("/api/opt/1/y", "api/opt/[[...rest]].py"),
    ("/api/opt", "api/opt/[[...rest]].py"),
])
def test_precedence_static_then_param_then_catch_all_with_backtracking(make_client, path, file):
    assert routed(make_client(PRECEDENCE), path)[1] == file


def test_lookup_is_a_trie_walk_not_a_scan_of_every_route(tmp_path):
    """R4: resolving a path visits one node per segment, whatever the route count."""
    files = {f"api/r{i}/items/[id].py": ECHO for i in range(300)}
    pages = write_tree(tmp_path, files)
    root = compile_routes(scan(str(pages)))
    visited = []

    class Counting(dict):  # each node's static children, counting the lookups made in them
        def get(self, key, default=None):
            visited.append(key)
            return super().get(key, default)

    def count(node):
        node.static = Counting({k: count(v) for k, v in node.static.items()})
        if node.param is not None:
            count(node.param)
        return node

    found = match(count(root), ["api", "r299", "items", "5"])
    assert found is not None and found[1] == {"id": "5"}
    assert visited == ["api", "r299", "items", "5"]  # one lookup per segment, in root, api, r299, items


# R5 -----------------------------------------------------------------------
@pytest.mark.parametrize("files, names", [
    (("api/x.py", "api/x/index.py"), ("api/x.py", "api/x/index.py")),
    (("api/[id].py", "api/[slug].py"), ("api/[id].py", "api/[slug].py")),
    (("api/[id]/a.py", "api/[slug]/b.py"), ("api/[id]/a.py", "api/[slug]/b.py")),
    (("api/p/[...a].py", "api/p/[[...b]].py"), ("api/p/[...a].py", "api/p/[[...b]].py")),
    (("api/p/[[...b]].py", "api/p/index.py"), ("api/p/[[...b]].py", "api/p/index.py")),
    (("api/p.py", "api/p/[[...b]].py"), ("api/p.py", "api/p/[[...b]].py")),
    (("api/[id]/[id].py",), ("api/[id]/[id].py",)),
    (("api/[...all]/x.py",), ("api/[...all]/x.py",)),
])
def test_conflicts_fail_the_build_naming_both_files(tmp_path, files, names):
    pages = write_tree(tmp_path, tree(*files))
    with pytest.raises(BuildError) as err:
        App(pages)
    for name in names:
        assert name in str(err.value)


def test_same_parameter_name_file_and_folder_is_no_conflict(make_client):
    client = make_client(tree("api/[id].py", "api/[id]/edit.py"))
    assert routed(client, "/api/1")[1] == "api/[id].py"
    assert routed(client, "/api/1/edit")[2] == {"id": "1"}


# R6 -----------------------------------------------------------------------
def test_only_api_paths_are_routed(make_client):
    client = make_client(tree("api/index.py", "api/conflict.py"))
    assert client.get("/api").status == 200
    assert client.get("/api-conflict").status == 404
    assert client.get("/").status == 404
    assert client.get("/apix/conflict").status == 404


def test_trailing_slash_redirects_308_keeping_the_query(make_client):
    client = make_client(tree("api/users.py"))
    resp = client.get("/api/users/")
    assert resp.status == 308
    assert resp.headers["Location"] == "/api/users"
    resp = client.get("/api/users/?q=1&b=2")
    assert (resp.status, resp.headers["Location"]) == (308, "/api/users?q=1&b=2")
    assert resp.text == "/api/users?q=1&b=2"


def test_trailing_slash_redirect_never_points_off_site(make_client):
    client = make_client(tree("api/users.py"))
    resp = client.get("//evil.com/")
    assert resp.status == 308
    assert not resp.headers["Location"].startswith("//")
    assert resp.headers["Location"] == "/evil.com"


def test_segments_are_percent_decoded(make_client):
    client = make_client(tree("api/p/[id].py", "api/caf\u00e9.py"))
    assert routed(client, "/api/p/a%20b")[2] == {"id": "a b"}
    assert routed(client, "/api/p/%E2%82%AC")[2] == {"id": "\u20ac"}
    assert routed(client, "/api/caf%C3%A9")[1] == "api/caf\u00e9.py"


def test_a_path_that_is_not_utf8_is_a_400(make_client):
    client = make_client(tree("api/p/[id].py"))
    resp = client.get("/api/p/%FF")
    assert resp.status == 400
    assert resp.headers["Content-Type"].startswith("application/json")
    assert "error" in resp.json()


def test_empty_segments_are_not_parameters(make_client):
    client = make_client(tree("api/p/[id].py", "api/c/[...all].py"))
    assert client.get("/api/p//").status == 308
    assert client.get("/api//p/1").status == 404
    assert client.get("/api/c/a//b").status == 404


# --- properties (Hypothesis, issue 5); their strategies are in tests/strategies.py ---------------


ROUTE_FILES = [
    "api/index", "api/users", "api/users/[id]", "api/users/[id]/posts", "api/users/me",
    "api/[org]/settings", "api/docs/[...slug]", "api/shop/[[...path]]", "api/a/b/c",
]


def synthetic_routes() -> list[Route]:
    routes = []
    for rel in ROUTE_FILES:
        parts = rel.split("/")
        if parts[-1] == "index":
            parts.pop()
        routes.append(Route(f"/x/{rel}.py", rel + ".py", tuple(parse_segment(p, rel) for p in parts)))
    return routes


ROUTES = synthetic_routes()
TRIE = compile_routes(ROUTES)


@FEW
@given(st.lists(SEGMENT, max_size=8))
def test_router_match_is_consistent(segs):
    found = match(TRIE, segs)
    if found is None:
        return
    route, params = found
    rebuilt: list[str] = []
    for seg in route.segments:
        if seg.kind == STATIC:
            rebuilt.append(seg.name)
        elif seg.name in params:
            value = params[seg.name]
            rebuilt.extend(value if isinstance(value, list) else [value])
    assert rebuilt == segs, (route.pattern, params)
    assert all(v for v in params.values())  # never an empty parameter


@FEW
@given(st.sampled_from(ROUTES), st.lists(st.text(string.ascii_letters + string.digits + "-_~", min_size=1,
                                                  max_size=6), min_size=1, max_size=4))
def test_router_finds_each_route_from_its_pattern(route, values):
    segs, it = [], iter(values * 3)
    for seg in route.segments:
        if seg.kind == STATIC:
            segs.append(seg.name)
        elif seg.kind == 1:
            segs.append(next(it))
        else:
            segs.extend(values)
    found = match(TRIE, segs)
    assert found is not None
    # Static segments win (R4): a value that spells a static name may pick a more specific route.
    if found[0] is not route:
        assert any(v in {"me", "users", "settings", "docs", "shop", "a", "b", "c", "posts"} for v in values)


def test_scan_leaves_out_symlinks_that_leave_the_folder(tmp_path):
    """A route file that is a symlink out of the pages folder is never a route (nor imported);
    one pointing inside is; a symlinked folder is not walked (os.walk does not follow it)."""
    pages = tmp_path / "pages"
    (pages / "api").mkdir(parents=True)
    (pages / "api" / "real.py").write_text("def get(req, res):\n    return 1\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("raise SystemExit('imported from outside')\n")
    (pages / "api" / "out.py").symlink_to(outside / "secret.py")
    (pages / "api" / "in.py").symlink_to(pages / "api" / "real.py")
    (pages / "api" / "dir").symlink_to(outside, target_is_directory=True)
    routes = scan(str(pages))
    assert sorted(r.rel for r in routes) == ["api/in.py", "api/real.py"]
    assert all(r.file == os.path.join(os.path.abspath(pages), *r.rel.split("/")) for r in routes)
