"""R102: nextapi.sessions(secret, *, cookie, max_age, path, same_site, secure, http_only).

Through nextapi.testing.Client, whose cookie jar plays the browser: as app
middleware, as `middleware = sessions(...)` in a _middleware.py, and as a
decorator on sync and `async def` handlers. The cookie format is checked by
hand too (HMAC-SHA256 under the key derived from the secret), so a forged,
truncated, expired or rotated cookie is built the way an attacker or an old
deployment would.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from pathlib import Path
from typing import Any

import pytest

import nextapi
from nextapi import App, sessions
from nextapi.batteries import sessions as sessions_module
from nextapi.batteries.sessions import (
    MAX_COOKIE_BYTES,
    Session,
    Sessions,
    SessionTooLarge,
)
from nextapi.testing import Client
from tests.helpers import write_tree

SECRET = "s" * 32
OLD_SECRET = "o" * 32
NOW = 1_700_000_000

ROUTES = {
    # GET reads, POST merges the JSON body in, DELETE clears; ?k= picks another behaviour.
    "api/s.py": """
        from nextapi import HTTPError

        def get(req, res):
            return {"session": dict(req.session)}

        def post(req, res):
            k = req.query.get("k")
            req.session.update(req.body or {})
            if k == "teapot":
                raise HTTPError(418, "short and stout")
            if k == "boom":
                raise RuntimeError("after the session changed")
            if k == "sent":
                res.status(201).json({"session": dict(req.session)})
                return None
            if k == "stream":
                return iter([b"a", b"b"])
            return {"session": dict(req.session)}

        def delete(req, res):
            req.session.clear()
            res.status(204).end()
    """,
    "api/nested.py": """
        def post(req, res):
            cart = req.session.setdefault("cart", [])
            cart.append(req.body["item"])
            if req.query.get("mark"):
                req.session.modified = True
            return {"cart": cart}
    """,
    "api/big.py": """
        def post(req, res):
            req.session["blob"] = "x" * int(req.query["n"])
            return {"ok": True}
    """,
    "api/odd.py": """
        def post(req, res):
            req.session["when"] = object()
            return {"ok": True}
    """,
}


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The sessions' clock, fixed at NOW; tests move it by setting clock[0]."""
    now = [float(NOW)]
    monkeypatch.setattr(sessions_module, "_now", lambda: now[0])
    return now


def client_for(tmp_path: Path, mw: Any = None, *, files: dict[str, str] | None = None, **kw: Any) -> Client:
    pages = write_tree(tmp_path, files or ROUTES)
    app = App(pages, middleware=[mw or sessions(SECRET)], dev=kw.pop("dev", False))
    return Client(app, **kw)


def set_cookies(resp: Any) -> list[str]:
    return resp.headers.get_all("Set-Cookie")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(data: Any, issued: int = NOW, secret: str = SECRET, name: str = "session") -> str:
    """A cookie value made by hand, as the docstring of nextapi.batteries.sessions describes it."""
    key = hmac.new(secret.encode(), b"nextapi.sessions.v1", hashlib.sha256).digest()
    payload = b64(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
    sig = hmac.new(key, f"{name}={payload}.{issued}".encode(), hashlib.sha256).digest()
    return f"{payload}.{issued}.{b64(sig)}"


def unpack(value: str) -> tuple[Any, int]:
    payload, issued, _ = value.split(".")
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))), int(issued)


# -- the round trip ------------------------------------------------------------------

def test_a_session_round_trip(tmp_path):
    client = client_for(tmp_path)
    assert client.get("/api/s").json() == {"session": {}}
    resp = client.post("/api/s", json={"name": "Ada", "n": 1})
    assert resp.json() == {"session": {"name": "Ada", "n": 1}}
    [header] = set_cookies(resp)
    assert header.startswith("session=")
    assert header.endswith("; Max-Age=1209600; Path=/; Secure; HttpOnly; SameSite=Lax")
    assert client.get("/api/s").json() == {"session": {"name": "Ada", "n": 1}}
    client.post("/api/s", json={"n": 2})
    assert client.get("/api/s").json() == {"session": {"name": "Ada", "n": 2}}


def test_the_cookie_is_the_signed_json_and_its_issue_time(tmp_path):
    client = client_for(tmp_path)
    client.post("/api/s", json={"name": "Zoë"})
    value = client.cookies["session"]
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[0-9]+\.[A-Za-z0-9_-]{43}", value)
    assert unpack(value) == ({"name": "Zoë"}, NOW)
    assert value == forge({"name": "Zoë"})
    assert sessions(SECRET).decode(value) == {"name": "Zoë"}
    assert sessions(SECRET).encode({"name": "Zoë"}) == value


def test_no_set_cookie_when_the_session_was_only_read(tmp_path):
    client = client_for(tmp_path)
    client.post("/api/s", json={"a": 1})
    for _ in range(2):
        resp = client.get("/api/s")
        assert resp.json() == {"session": {"a": 1}}
        assert set_cookies(resp) == []


def test_no_cookie_for_an_untouched_or_empty_session(tmp_path):
    client = client_for(tmp_path)
    assert set_cookies(client.get("/api/s")) == []
    assert set_cookies(client.post("/api/s", json={})) == []  # update({}) marks it, but empty: nothing to keep
    assert set_cookies(client.delete("/api/s")) == []  # no cookie came in: nothing to delete


def test_clear_deletes_the_cookie(tmp_path):
    client = client_for(tmp_path)
    client.post("/api/s", json={"user": 7})
    resp = client.delete("/api/s")
    assert resp.status == 204
    [header] = set_cookies(resp)
    assert header.startswith("session=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Secure")
    assert "session" not in client.cookies
    assert client.get("/api/s").json() == {"session": {}}


def test_removing_the_last_key_deletes_the_cookie_too(tmp_path):
    files = {**ROUTES, "api/logout.py": "def post(req, res):\n    req.session.pop('user', None)\n    return {}\n"}
    client = client_for(tmp_path, files=files)
    client.post("/api/s", json={"user": 7})
    [header] = set_cookies(client.post("/api/logout"))
    assert "Max-Age=0" in header
    assert "session" not in client.cookies


def test_a_handler_that_sent_the_response_itself_still_gets_the_cookie(tmp_path):
    client = client_for(tmp_path)
    resp = client.post("/api/s?k=sent", json={"a": 1})
    assert resp.status == 201 and len(set_cookies(resp)) == 1
    assert client.get("/api/s").json() == {"session": {"a": 1}}


def test_a_streamed_answer_gets_the_cookie(tmp_path):
    client = client_for(tmp_path)
    resp = client.post("/api/s?k=stream", json={"a": 1})
    assert resp.content == b"ab" and len(set_cookies(resp)) == 1


def test_other_cookies_set_by_the_handler_are_kept(tmp_path):
    files = {"api/two.py": """
        def post(req, res):
            res.set_cookie("theme", "dark")
            req.session["a"] = 1
            res.json({"ok": True})
    """}
    client = client_for(tmp_path, files=files)
    headers = set_cookies(client.post("/api/two"))
    assert [h.split("=")[0] for h in headers] == ["theme", "session"]


def test_an_http_error_keeps_the_session_an_exception_does_not(tmp_path):
    client = client_for(tmp_path, raise_server_exceptions=False)
    resp = client.post("/api/s?k=teapot", json={"a": 1})
    assert (resp.status, resp.json()) == (418, {"error": "short and stout"})
    assert len(set_cookies(resp)) == 1
    resp = client.post("/api/s?k=boom", json={"b": 2})
    assert resp.status == 500 and set_cookies(resp) == []
    assert client.get("/api/s").json() == {"session": {"a": 1}}


def test_nested_changes_need_modified(tmp_path):
    client = client_for(tmp_path)
    client.post("/api/nested", json={"item": "a"})  # setdefault added "cart": saved
    assert client.get("/api/s").json() == {"session": {"cart": ["a"]}}
    resp = client.post("/api/nested", json={"item": "b"})  # append inside: not seen
    assert resp.json() == {"cart": ["a", "b"]} and set_cookies(resp) == []
    assert client.get("/api/s").json() == {"session": {"cart": ["a"]}}
    client.post("/api/nested?mark=1", json={"item": "b"})
    assert client.get("/api/s").json() == {"session": {"cart": ["a", "b"]}}


def test_an_active_session_slides_forward(tmp_path, clock):
    client = client_for(tmp_path, sessions(SECRET, max_age=100))
    client.post("/api/s", json={"n": 1})
    clock[0] += 60
    client.post("/api/s", json={"n": 2})  # written again: issued now
    assert unpack(client.cookies["session"])[1] == NOW + 60
    clock[0] += 60
    assert client.get("/api/s").json() == {"session": {"n": 2}}


# -- cookies that are not ours ------------------------------------------------------------

def _tampered() -> list[tuple[str, str]]:
    good = forge({"user": 1})
    payload, issued, sig = good.split(".")
    evil = b64(b'{"user":0}')
    return [
        ("payload-changed", f"{evil}.{issued}.{sig}"),
        ("issued-changed", f"{payload}.{int(issued) + 1}.{sig}"),
        ("signature-flipped", f"{payload}.{issued}.{sig[:-2]}{'A' if sig[-2] != 'A' else 'B'}{sig[-1]}"),
        ("signature-missing", f"{payload}.{issued}."),
        ("truncated", good[:-5]),
        ("truncated-to-payload", payload),
        ("extra-part", good + ".x"),
        ("wrong-secret", forge({"user": 1}, secret="w" * 32)),
        ("other-cookie-name", forge({"user": 1}, name="remember")),
        ("padding", good + "=="),
        ("not-base64", f"{payload}!.{issued}.{sig}"),
        ("unicode", good.replace("e", "é", 1)),
        ("issued-not-a-number", f"{payload}.1e9.{sig}"),
        ("empty", ""),
        ("garbage", "%00%ff<script>"),
        ("huge", "a" * 6000 + "." + issued + "." + sig),
    ]


@pytest.mark.parametrize("value", [v for _, v in _tampered()], ids=[i for i, _ in _tampered()])
def test_a_cookie_that_does_not_check_out_is_an_empty_session(tmp_path, value):
    client = client_for(tmp_path)
    resp = client.get("/api/s", cookies={"session": value})
    assert (resp.status, resp.json()) == (200, {"session": {}})
    assert set_cookies(resp) == []


def test_a_signed_value_that_is_not_an_object_is_an_empty_session(tmp_path):
    client = client_for(tmp_path)
    for data in ([1, 2], "text", None, 3):
        assert client.get("/api/s", cookies={"session": forge(data)}).json() == {"session": {}}


def test_a_forged_cookie_is_replaced_when_the_session_is_written(tmp_path):
    client = client_for(tmp_path)
    client.cookies["session"] = forge({"admin": True}, secret="w" * 32)
    assert client.post("/api/s", json={"a": 1}).json() == {"session": {"a": 1}}
    assert sessions(SECRET).decode(client.cookies["session"]) == {"a": 1}


def test_a_garbage_cookie_is_deleted_by_clear(tmp_path):
    client = client_for(tmp_path)
    client.cookies["session"] = "garbage"
    [header] = set_cookies(client.delete("/api/s"))
    assert "Max-Age=0" in header and "session" not in client.cookies


# -- expiry ---------------------------------------------------------------------------------

def test_a_cookie_older_than_max_age_is_an_empty_session(tmp_path, clock):
    client = client_for(tmp_path, sessions(SECRET, max_age=1))
    client.cookies["session"] = forge({"user": 1}, issued=NOW)
    assert client.get("/api/s").json() == {"session": {"user": 1}}
    clock[0] = NOW + 0.999
    assert client.get("/api/s").json() == {"session": {"user": 1}}
    clock[0] = NOW + 1
    assert client.get("/api/s").json() == {"session": {}}


def test_expiry_is_the_signed_issue_time_not_the_browser(tmp_path, clock):
    """A client that ignores Max-Age (replays an old cookie) still gets an empty session."""
    client = client_for(tmp_path)
    client.post("/api/s", json={"user": 1})
    old = client.cookies["session"]
    clock[0] = NOW + 14 * 86400
    assert client.get("/api/s", cookies={"session": old}).json() == {"session": {}}
    clock[0] = NOW + 14 * 86400 - 1
    assert client.get("/api/s", cookies={"session": old}).json() == {"session": {"user": 1}}


def test_a_cookie_from_the_far_future_is_refused(tmp_path):
    client = client_for(tmp_path)
    assert client.get("/api/s", cookies={"session": forge({"u": 1}, issued=NOW + 240)}).json() == {
        "session": {"u": 1}}  # another server's clock a little ahead
    assert client.get("/api/s", cookies={"session": forge({"u": 1}, issued=NOW + 10**6)}).json() == {
        "session": {}}


def test_max_age_is_the_cookie_max_age(tmp_path):
    client = client_for(tmp_path, sessions(SECRET, max_age=3600))
    [header] = set_cookies(client.post("/api/s", json={"a": 1}))
    assert "; Max-Age=3600;" in header


# -- key rotation ---------------------------------------------------------------------------

def test_an_old_key_verifies_and_the_new_key_signs(tmp_path, clock):
    client = client_for(tmp_path, sessions([SECRET, OLD_SECRET], max_age=1000))
    client.cookies["session"] = forge({"user": 1}, issued=NOW - 400, secret=OLD_SECRET)
    resp = client.get("/api/s")
    assert resp.json() == {"session": {"user": 1}}
    [header] = set_cookies(resp)  # re-signed on this read, keeping its issue time and its end
    assert "; Max-Age=600;" in header
    value = client.cookies["session"]
    assert value == forge({"user": 1}, issued=NOW - 400, secret=SECRET)
    assert sessions(OLD_SECRET).decode(value) is None
    assert set_cookies(client.get("/api/s")) == []  # now under the new key: nothing more to do
    client.post("/api/s", json={"n": 2})
    assert sessions(SECRET).decode(client.cookies["session"]) == {"user": 1, "n": 2}


def test_a_changed_session_under_an_old_key_is_written_with_the_new_one(tmp_path):
    client = client_for(tmp_path, sessions([SECRET, OLD_SECRET]))
    client.cookies["session"] = forge({"user": 1}, secret=OLD_SECRET)
    client.post("/api/s", json={"n": 2})
    assert unpack(client.cookies["session"]) == ({"user": 1, "n": 2}, NOW)
    assert sessions(SECRET).decode(client.cookies["session"]) == {"user": 1, "n": 2}


def test_a_retired_key_no_longer_verifies(tmp_path):
    client = client_for(tmp_path, sessions([SECRET]))
    assert client.get("/api/s", cookies={"session": forge({"u": 1}, secret=OLD_SECRET)}).json() == {"session": {}}


# -- the 4 KB limit -------------------------------------------------------------------------

def test_a_session_over_4kb_is_a_500_naming_the_size(tmp_path):
    client = client_for(tmp_path)
    with pytest.raises(SessionTooLarge, match=r"'session' would be 4\d\d\d bytes encoded, over the 4096"):
        client.post("/api/big?n=3500")
    quiet = client_for(tmp_path / "q", raise_server_exceptions=False)
    resp = quiet.post("/api/big?n=3500")
    assert (resp.status, resp.json()) == (500, {"error": "Internal Server Error"})
    assert set_cookies(resp) == []
    dev = client_for(tmp_path / "d", raise_server_exceptions=False, dev=True)
    detail = dev.post("/api/big?n=3500").json()
    size = int(re.search(r"would be (\d+) bytes", detail["exception"]).group(1))
    assert size == len("session=" + sessions(SECRET).encode({"blob": "x" * 3500}))


def test_a_session_just_under_4kb_is_kept(tmp_path):
    client = client_for(tmp_path)
    n = 3000
    while len("session=" + sessions(SECRET).encode({"blob": "x" * (n + 1)})) <= MAX_COOKIE_BYTES:
        n += 1
    assert client.post(f"/api/big?n={n}").status == 200
    assert len("session=" + client.cookies["session"]) <= MAX_COOKIE_BYTES
    with pytest.raises(SessionTooLarge):
        client.post(f"/api/big?n={n + 3}")


def test_a_value_json_cannot_encode_is_a_500_naming_it(tmp_path):
    client = client_for(tmp_path)
    with pytest.raises(TypeError, match="req.session holds a value JSON cannot encode.*object"):
        client.post("/api/odd")


# -- where it goes --------------------------------------------------------------------------

def test_in_a_middleware_file(tmp_path):
    files = {
        "api/_middleware.py": f"from nextapi import sessions\n\nmiddleware = sessions({SECRET!r})\n",
        "api/s.py": ROUTES["api/s.py"],
        "api/elsewhere/x.py": "def get(req, res):\n    return {'session': req.session}\n",
    }
    client = Client(App(write_tree(tmp_path, files)))
    client.post("/api/s", json={"a": 1})
    assert client.get("/api/elsewhere/x").json() == {"session": {"a": 1}}


def test_without_the_middleware_req_session_is_none(tmp_path):
    files = {"api/x.py": "def get(req, res):\n    return {'session': req.session, 'user': req.user}\n"}
    client = Client(App(write_tree(tmp_path, files)))
    assert client.get("/api/x").json() == {"session": None, "user": None}


DECORATED = f"""
from nextapi import HTTPError, sessions

remember = sessions({SECRET!r})


@remember
def get(req, res):
    return {{"session": dict(req.session)}}


@remember
def post(req, res):
    req.session.update(req.body)
    if req.query.get("k") == "teapot":
        raise HTTPError(418)
    return {{"session": dict(req.session)}}
"""


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_as_a_decorator(tmp_path, flavour):
    source = DECORATED if flavour == "sync" else DECORATED.replace("def get", "async def get").replace(
        "def post", "async def post")
    client = Client(App(write_tree(tmp_path, {"api/d.py": source})))
    resp = client.post("/api/d", json={"a": 1})
    assert resp.json() == {"session": {"a": 1}} and len(set_cookies(resp)) == 1
    resp = client.get("/api/d")
    assert resp.json() == {"session": {"a": 1}} and set_cookies(resp) == []
    assert client.post("/api/d?k=teapot", json={"b": 2}).status == 418
    assert client.get("/api/d").json() == {"session": {"a": 1, "b": 2}}


def test_async_handlers_and_async_middleware_around_it(tmp_path):
    files = {
        "api/_middleware.py": "async def middleware(req, res, next):\n"
                              "    res.set_header('X-Outer', '1')\n    return await next()\n",
        "api/a/_middleware.py": f"from nextapi import sessions\n\nmiddleware = sessions({SECRET!r})\n",
        "api/a/s.py": "async def post(req, res):\n    req.session['n'] = req.body['n']\n    return dict(req.session)\n\n"
                      "async def get(req, res):\n    return dict(req.session)\n",
    }
    client = Client(App(write_tree(tmp_path, files)))
    resp = client.post("/api/a/s", json={"n": 5})
    assert resp.headers["X-Outer"] == "1" and len(set_cookies(resp)) == 1
    assert client.get("/api/a/s").json() == {"n": 5}


def test_its_own_cookie_name_path_and_attributes(tmp_path):
    mw = sessions(SECRET, cookie="__Host-sid", same_site="Strict", http_only=False, max_age=60)
    client = client_for(tmp_path, mw)
    [header] = set_cookies(client.post("/api/s", json={"a": 1}))
    assert re.fullmatch(r"__Host-sid=[^;]+; Max-Age=60; Path=/; Secure; SameSite=Strict", header)
    assert client.get("/api/s").json() == {"session": {"a": 1}}
    mw = sessions(SECRET, path="/api", secure=False, same_site=None)
    [header] = set_cookies(client_for(tmp_path / "p", mw).post("/api/s", json={"a": 1}))
    assert header.endswith("; Max-Age=1209600; Path=/api; HttpOnly")


# -- refused when made ----------------------------------------------------------------------

@pytest.mark.parametrize("secret, error", [
    ("", ValueError), ("short", ValueError), ("x" * 31, ValueError), (b"x" * 31, ValueError),
    ([], ValueError), ([SECRET, "short"], ValueError), (None, TypeError), ([SECRET, 42], TypeError),
])
def test_a_missing_or_short_secret_is_refused(secret, error):
    with pytest.raises(error, match="sessions"):
        sessions(secret)


def test_the_secret_may_be_bytes_or_several():
    assert isinstance(sessions(b"\x00" * 32), Sessions)
    assert isinstance(sessions(("a" * 32, b"b" * 40)), Sessions)
    assert isinstance(sessions(SECRET), nextapi.batteries._base.Battery)


@pytest.mark.parametrize("kw", [
    {"cookie": "a b"}, {"cookie": ""}, {"cookie": "a;b"}, {"max_age": 0}, {"max_age": -1}, {"max_age": 1.5},
    {"max_age": True}, {"same_site": "Sometimes"}, {"same_site": "None", "secure": False},
    {"cookie": "__Host-sid", "secure": False}, {"cookie": "__Host-sid", "path": "/api"},
    {"cookie": "__Secure-sid", "secure": False}, {"path": "/; Domain=evil.example"},
])
def test_bad_cookie_settings_are_refused(kw):
    with pytest.raises(ValueError):
        sessions(SECRET, **kw)


# -- the dict ---------------------------------------------------------------------------------

def test_session_notes_every_change():
    def after(action) -> bool:
        s = Session({"a": 1, "b": 2})
        action(s)
        return s.modified

    assert not after(lambda s: s.get("a"))
    assert not after(lambda s: s.setdefault("a", 5))
    assert not after(lambda s: s.pop("zz", None))
    assert not after(lambda s: dict(s))
    assert after(lambda s: s.__setitem__("c", 3))
    assert after(lambda s: s.__setitem__("a", 1))  # the same value is a write too
    assert after(lambda s: s.__delitem__("a"))
    assert after(lambda s: s.pop("a"))
    assert after(lambda s: s.popitem())
    assert after(lambda s: s.setdefault("c", 3))
    assert after(lambda s: s.update(c=3))
    assert after(lambda s: s.__ior__({"c": 3}))
    assert after(lambda s: s.clear())
    s = Session()
    s |= {"x": 1}
    assert s == {"x": 1} and s.modified and isinstance(s, Session)
    with pytest.raises(KeyError):
        Session().popitem()
    assert "modified" in repr(s)
