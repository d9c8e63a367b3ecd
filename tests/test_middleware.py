"""Folder middleware (R15)."""
from __future__ import annotations

TRACE_MW = """
def middleware(req, res, next):
    res.set_header("X-Trace-{name}", "1")
    order = req.environ.setdefault("trace", [])
    order.append("{name}")
    return next()
"""

HANDLER = """
def handler(req, res):
    return {"order": req.environ["trace"]}
"""


def test_middleware_runs_outermost_folder_first(make_client):
    client = make_client({
        "api/_middleware.py": TRACE_MW.replace("{name}", "outer"),
        "api/admin/_middleware.py": TRACE_MW.replace("{name}", "inner"),
        "api/admin/users.py": HANDLER,
        "api/public.py": HANDLER,
    })
    resp = client.get("/api/admin/users")
    assert resp.json() == {"order": ["outer", "inner"]}
    assert resp.headers["X-Trace-outer"] == "1" and resp.headers["X-Trace-inner"] == "1"
    resp = client.get("/api/public")
    assert resp.json() == {"order": ["outer"]}
    assert "X-Trace-inner" not in resp.headers


def test_middleware_that_sends_stops_the_chain(make_client, tmp_path):
    marker = tmp_path / "handler-ran"
    client = make_client({
        "api/admin/_middleware.py": """
def middleware(req, res, next):
    if req.headers.get("Authorization") != "Bearer ok":
        res.status(401).json({"error": "Unauthorized"})
        return
    return next()
""",
        "api/admin/secret.py": f"def handler(req, res):\n    open({str(marker)!r}, 'w').close()\n    return {{'secret': 42}}\n",
    })
    resp = client.get("/api/admin/secret")
    assert (resp.status, resp.json()) == (401, {"error": "Unauthorized"})
    assert not marker.exists()
    resp = client.get("/api/admin/secret", headers={"Authorization": "Bearer ok"})
    assert resp.json() == {"secret": 42}


def test_headers_set_by_middleware_stay_on_errors_and_405(make_client):
    client = make_client({
        "api/_middleware.py": """
def middleware(req, res, next):
    res.set_header("Access-Control-Allow-Origin", "*")
    return next()
""",
        "api/items.py": "from nextapi import HTTPError\ndef get(req, res):\n    raise HTTPError(418, 'teapot')\n",
    })
    resp = client.get("/api/items")
    assert (resp.status, resp.json()) == (418, {"error": "teapot"})
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    resp = client.post("/api/items")
    assert resp.status == 405
    assert resp.headers["Access-Control-Allow-Origin"] == "*"


def test_next_returns_the_handler_value_and_response_is_already_sent(make_client):
    client = make_client({
        "api/_middleware.py": """
def middleware(req, res, next):
    value = next()
    assert res.finished, "the returned value is sent inside the chain"
    res_value = value
    return res_value
""",
        "api/v.py": "def handler(req, res):\n    return {'v': 1}\n",
    })
    assert client.get("/api/v").json() == {"v": 1}


def test_a_decorator_works_as_middleware(make_client, tmp_path):
    (tmp_path / "auth_r15.py").write_text("""
import functools

def require_key(fn):
    @functools.wraps(fn)
    def wrapped(req, res):
        if req.query.get("key") != "k":
            res.status(403).json({"error": "Forbidden"})
            return None
        return fn(req, res)
    return wrapped
""")
    client = make_client({
        "api/guarded.py": """
from auth_r15 import require_key

@require_key
def get(req, res):
    return {"ok": True}
""",
    })
    assert client.get("/api/guarded").status == 403
    assert client.get("/api/guarded?key=k").json() == {"ok": True}


def test_middleware_file_without_middleware_function_fails_the_build(tmp_path):
    import pytest

    from nextapi import App, LoadError
    from tests.helpers import write_tree
    pages = write_tree(tmp_path, {"api/_middleware.py": "X = 1\n", "api/a.py": HANDLER})
    with pytest.raises(LoadError, match="_middleware.py"):
        App(pages)
