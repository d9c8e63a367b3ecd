"""R103: nextapi.bearer(verify), nextapi.basic(verify, realm=...), nextapi.api_key(verify, header=...).

Through nextapi.testing.Client: missing, malformed, refused and accepted
credentials for each scheme, with the exact 401 and WWW-Authenticate; what
verify returned as req.user; verify sync or `async def`, the battery as app
middleware, in a _middleware.py (after an async middleware too) and as a
decorator on sync and async handlers.
"""
from __future__ import annotations

import asyncio
import base64
import hmac
from pathlib import Path
from typing import Any

import pytest

from nextapi import App, HTTPError, api_key, basic, bearer
from nextapi.batteries._base import Battery
from nextapi.batteries.auth import MAX_CREDENTIALS
from nextapi.testing import Client
from tests.helpers import write_tree

UNAUTHORIZED = {"error": "Unauthorized"}
TOKEN = "tok-3f9a.Zx_~+/=="
KEY = "key_9b1c!#$%&'*+-.^`|~"

ROUTES = {
    "api/me.py": """
        def handler(req, res):
            req.environ["test.ran"] = True
            return {"user": req.user}
    """,
    "api/ame.py": """
        import asyncio

        async def handler(req, res):
            await asyncio.sleep(0)
            return {"user": req.user}
    """,
}

calls: list[tuple[Any, ...]] = []


def verify_token(token: str) -> Any:
    calls.append((token,))
    return {"name": "ada"} if hmac.compare_digest(token, TOKEN) else None


def verify_pair(username: str, password: str) -> Any:
    calls.append((username, password))
    ok = hmac.compare_digest(username.encode(), "ädå".encode()) & hmac.compare_digest(password.encode(), b"p:ss w")
    return {"name": username} if ok else None


def verify_key(key: str) -> Any:
    calls.append((key,))
    return {"name": "svc"} if hmac.compare_digest(key, KEY) else None


async def averify_token(token: str) -> Any:
    await asyncio.sleep(0)
    return verify_token(token)


@pytest.fixture(autouse=True)
def _calls():
    calls.clear()


def client_for(tmp_path: Path, mw: Any, files: dict[str, str] | None = None, **kw: Any) -> Client:
    return Client(App(write_tree(tmp_path, files or ROUTES), middleware=[mw]), **kw)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def refused(resp: Any, challenge: str) -> bool:
    assert (resp.status, resp.json()) == (401, UNAUTHORIZED), resp.text
    assert resp.headers.get_all("WWW-Authenticate") == [challenge]
    assert resp.headers["Content-Type"].startswith("application/json")
    return True


# -- bearer ---------------------------------------------------------------------------------

def test_bearer_accepts_a_good_token_and_sets_req_user(tmp_path):
    client = client_for(tmp_path, bearer(verify_token))
    resp = client.get("/api/me", headers={"Authorization": f"Bearer {TOKEN}"})
    assert (resp.status, resp.json()) == (200, {"user": {"name": "ada"}})
    assert calls == [(TOKEN,)]
    for spelled in ("bearer", "BEARER", "BeArEr"):
        assert client.get("/api/me", headers={"Authorization": f"{spelled} {TOKEN}"}).status == 200
    assert client.get("/api/me", headers={"Authorization": f"  Bearer   {TOKEN}  "}).status == 200


BEARER_MALFORMED = [
    "", " ", "Bearer", "Bearer ", "Bearer  ", f"Token {TOKEN}", f"Basic {TOKEN}", f"Bearer{TOKEN}",
    f"Bearer {TOKEN} extra", f"Bearer {TOKEN}, Bearer {TOKEN}", "Bearer a,b", "Bearer a b", "Bearer =abc",
    "Bearer ab=c", "Bearer a\tb", f"Bearer\t{TOKEN}", "Bearer <script>", "Bearer é", "Bearer \x00",
    'Bearer "quoted"', "Bearer a;b", f"Bearer {'a' * MAX_CREDENTIALS}",
]


@pytest.mark.parametrize("value", BEARER_MALFORMED)
def test_bearer_malformed_is_401_and_verify_never_sees_it(tmp_path, value):
    client = client_for(tmp_path, bearer(verify_token))
    resp = client.get("/api/me", headers={"Authorization": value})
    assert refused(resp, "Bearer")
    assert calls == []


def test_bearer_missing_and_refused(tmp_path):
    client = client_for(tmp_path, bearer(verify_token))
    assert refused(client.get("/api/me"), "Bearer")
    assert refused(client.get("/api/me", headers={"Authorization": "Bearer wrong"}), "Bearer")
    assert calls == [("wrong",)]


def test_a_token_up_to_the_limit_is_read(tmp_path):
    seen = []
    client = client_for(tmp_path, bearer(lambda t: seen.append(t) or "u"))
    token = "a" * (MAX_CREDENTIALS - len("Bearer "))
    assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status == 200
    assert seen == [token]
    assert client.get("/api/me", headers={"Authorization": f"Bearer {token}a"}).status == 401
    assert client.get("/api/me", headers={"Authorization": "Bearer " + "a" * 1_000_000}).status == 401


# -- basic ----------------------------------------------------------------------------------

def test_basic_accepts_a_utf8_pair_whose_password_has_a_colon(tmp_path):
    client = client_for(tmp_path, basic(verify_pair))
    resp = client.get("/api/me", headers={"Authorization": "Basic " + b64("ädå:p:ss w")})
    assert (resp.status, resp.json()) == (200, {"user": {"name": "ädå"}})
    assert calls == [("ädå", "p:ss w")]


def test_basic_missing_and_refused(tmp_path):
    client = client_for(tmp_path, basic(verify_pair))
    assert refused(client.get("/api/me"), 'Basic realm="api"')
    assert refused(client.get("/api/me", headers={"Authorization": "Basic " + b64("ädå:nope")}), 'Basic realm="api"')
    assert refused(client.get("/api/me", headers={"Authorization": "Basic " + b64(":")}), 'Basic realm="api"')
    assert calls == [("ädå", "nope"), ("", "")]  # an empty name and password are verify's to judge


BASIC_MALFORMED = [
    "Basic", "Basic ", "Basic " + b64("no-colon"), "Basic " + b64("a:b")[:-1], "Basic " + b64("a:b") + "=",
    "Basic !!!!", "Basic " + base64.b64encode(b"\xff\xfe:x").decode(), "Basic " + b64("a\x00:b"),
    "Basic " + b64("a:b\r\nX: y"), "Basic " + b64("a:b\x7f"), "Basic " + base64.urlsafe_b64encode(b"\xfb\xff:?>").decode(),
    "Bearer " + b64("a:b"), "Basic " + b64("a:b") + " " + b64("c:d"), "Basic " + "QUFB" * 3000,
]


@pytest.mark.parametrize("value", BASIC_MALFORMED)
def test_basic_malformed_is_401_and_verify_never_sees_it(tmp_path, value):
    client = client_for(tmp_path, basic(verify_pair))
    assert refused(client.get("/api/me", headers={"Authorization": value}), 'Basic realm="api"')
    assert calls == []


def test_basic_with_a_realm_of_its_own(tmp_path):
    client = client_for(tmp_path, basic(verify_pair, realm="Staff area"))
    assert refused(client.get("/api/me"), 'Basic realm="Staff area"')


@pytest.mark.parametrize("realm", ['a"b', "a\\b", "a\r\nb", "é", 42])
def test_a_realm_that_cannot_be_quoted_is_refused(realm):
    with pytest.raises(ValueError, match="realm"):
        basic(verify_pair, realm=realm)


# -- API key --------------------------------------------------------------------------------

def test_api_key_accepts_a_good_key(tmp_path):
    client = client_for(tmp_path, api_key(verify_key))
    resp = client.get("/api/me", headers={"X-API-Key": KEY})
    assert (resp.status, resp.json()) == (200, {"user": {"name": "svc"}})
    assert client.get("/api/me", headers={"x-api-key": f"  {KEY} "}).status == 200


@pytest.mark.parametrize("value", ["", " ", "a b", "a\tb", "é", "a\x00", "k" * (MAX_CREDENTIALS + 1)])
def test_api_key_malformed_is_401_and_verify_never_sees_it(tmp_path, value):
    client = client_for(tmp_path, api_key(verify_key))
    assert refused(client.get("/api/me", headers={"X-API-Key": value}), 'APIKey header="X-API-Key"')
    assert calls == []


def test_api_key_missing_refused_and_in_a_header_of_its_own(tmp_path):
    client = client_for(tmp_path, api_key(verify_key, header="X-Token"))
    assert refused(client.get("/api/me"), 'APIKey header="X-Token"')
    assert refused(client.get("/api/me", headers={"X-API-Key": KEY}), 'APIKey header="X-Token"')
    assert refused(client.get("/api/me", headers={"X-Token": "wrong"}), 'APIKey header="X-Token"')
    assert client.get("/api/me", headers={"X-Token": KEY}).status == 200


@pytest.mark.parametrize("header", ["", "X Key", "X-Key:", "X\r\nKey", None])
def test_a_bad_header_name_is_refused(header):
    with pytest.raises(ValueError, match="header"):
        api_key(verify_key, header=header)


# -- what verify returns ----------------------------------------------------------------------

@pytest.mark.parametrize("returned, status", [
    (None, 401), (False, 401), (True, 200), (0, 200), ("ada", 200), ({}, 200), ([1], 200),
])
def test_only_none_and_false_refuse(tmp_path, returned, status):
    client = client_for(tmp_path, bearer(lambda token: returned))
    resp = client.get("/api/me", headers={"Authorization": "Bearer x"})
    assert resp.status == status
    if status == 200:
        assert resp.json() == {"user": returned}


def test_a_refused_request_never_reaches_the_handler(tmp_path):
    client = client_for(tmp_path, bearer(verify_token))
    resp = client.request("GET", "/api/me", headers={"Authorization": "Bearer wrong"})
    assert resp.status == 401
    assert client.get("/api/me", headers={"Authorization": f"Bearer {TOKEN}"}).status == 200


def test_verify_may_answer_otherwise_or_fail(tmp_path):
    def verify(token: str) -> Any:
        if token == "banned":
            raise HTTPError(403, "Forbidden")
        raise RuntimeError("the user store is down")

    client = client_for(tmp_path, bearer(verify), raise_server_exceptions=False)
    resp = client.get("/api/me", headers={"Authorization": "Bearer banned"})
    assert (resp.status, resp.json()) == (403, {"error": "Forbidden"})
    assert "WWW-Authenticate" not in resp.headers
    resp = client.get("/api/me", headers={"Authorization": "Bearer other"})
    assert (resp.status, resp.json()) == (500, {"error": "Internal Server Error"})


def test_app_middleware_covers_unmatched_paths_too(tmp_path):
    client = client_for(tmp_path, bearer(verify_token))
    assert refused(client.get("/api/nope"), "Bearer")
    assert client.get("/api/nope", headers={"Authorization": f"Bearer {TOKEN}"}).status == 404


def test_verify_must_be_callable():
    for make in (bearer, basic, api_key):
        with pytest.raises(TypeError, match="verify"):
            make("secret-token")


def test_security_schemes_for_openapi():
    assert bearer(verify_token).security_scheme == {"type": "http", "scheme": "bearer"}
    assert basic(verify_pair).security_scheme == {"type": "http", "scheme": "basic"}
    assert api_key(verify_key).security_scheme == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert api_key(verify_key, header="X-Token").security_scheme["name"] == "X-Token"
    auth = bearer(verify_token)
    auth.security_scheme["scheme"] = "changed"
    assert auth.security_scheme["scheme"] == "bearer"  # a fresh dict each time
    assert all(isinstance(b, Battery) for b in (bearer(verify_token), basic(verify_pair), api_key(verify_key)))


# -- async verify and where the battery goes --------------------------------------------------

@pytest.mark.parametrize("route", ["/api/me", "/api/ame"])
def test_async_verify_as_app_middleware(tmp_path, route):
    client = client_for(tmp_path, bearer(averify_token))
    assert client.get(route, headers={"Authorization": f"Bearer {TOKEN}"}).json() == {"user": {"name": "ada"}}
    assert refused(client.get(route, headers={"Authorization": "Bearer wrong"}), "Bearer")
    assert refused(client.get(route), "Bearer")


def test_a_sync_verify_returning_an_awaitable_is_awaited(tmp_path):
    client = client_for(tmp_path, api_key(lambda key: averify_token(TOKEN if key == "k" else "x")))
    assert client.get("/api/ame", headers={"X-API-Key": "k"}).json() == {"user": {"name": "ada"}}
    assert client.get("/api/ame", headers={"X-API-Key": "j"}).status == 401


FOLDER = {
    "api/_middleware.py": """
        async def middleware(req, res, next):
            res.set_header("X-Outer", "async")
            return await next()
    """,
    "api/private/_middleware.py": """
        import asyncio
        from nextapi import bearer

        async def verify(token):
            await asyncio.sleep(0)
            return {"token": token} if token == "t0k" else None

        middleware = bearer(verify)
    """,
    "api/private/me.py": "def get(req, res):\n    return {'user': req.user}\n",
    "api/private/ame.py": "async def get(req, res):\n    return {'user': req.user}\n",
    "api/open.py": "def get(req, res):\n    return {'user': req.user}\n",
}


@pytest.mark.parametrize("route", ["/api/private/me", "/api/private/ame"])
def test_in_a_middleware_file_below_an_async_middleware(tmp_path, route):
    client = Client(App(write_tree(tmp_path, FOLDER)))
    resp = client.get(route, headers={"Authorization": "Bearer t0k"})
    assert (resp.status, resp.json()) == (200, {"user": {"token": "t0k"}})
    assert resp.headers["X-Outer"] == "async"
    resp = client.get(route)
    assert refused(resp, "Bearer") and resp.headers["X-Outer"] == "async"
    assert client.get("/api/open").json() == {"user": None}


DECORATED = """
import asyncio
from nextapi import api_key, basic, bearer


async def averify(token):
    await asyncio.sleep(0)
    return {"token": token} if token == "t0k" else None


def verify(token):
    return {"token": token} if token == "t0k" else None


def get(req, res):  # open: only post needs the token
    return {"open": True, "user": req.user}


@bearer(VERIFY)
DEF post(req, res):
    return {"user": req.user}


@basic(lambda user, password: user if (user, password) == ("u", "p") else None, realm="r")
DEF put(req, res):
    return {"user": req.user}
"""


@pytest.mark.parametrize("verify", ["verify", "averify"])
@pytest.mark.parametrize("define", ["def", "async def"])
def test_as_a_decorator(tmp_path, verify, define):
    source = DECORATED.replace("VERIFY", verify).replace("DEF", define)
    client = Client(App(write_tree(tmp_path, {"api/d.py": source})))
    assert client.get("/api/d").json() == {"open": True, "user": None}
    assert refused(client.post("/api/d"), "Bearer")
    assert refused(client.post("/api/d", headers={"Authorization": "Bearer nope"}), "Bearer")
    resp = client.post("/api/d", headers={"Authorization": "Bearer t0k"})
    assert (resp.status, resp.json()) == (200, {"user": {"token": "t0k"}})
    assert refused(client.put("/api/d"), 'Basic realm="r"')
    assert client.put("/api/d", headers={"Authorization": "Basic " + b64("u:p")}).json() == {"user": "u"}


def test_decorated_under_an_async_middleware(tmp_path):
    files = {
        "api/_middleware.py": "async def middleware(req, res, next):\n    return await next()\n",
        "api/d.py": DECORATED.replace("VERIFY", "averify").replace("DEF", "def"),
    }
    client = Client(App(write_tree(tmp_path, files)))
    assert client.post("/api/d", headers={"Authorization": "Bearer t0k"}).json() == {"user": {"token": "t0k"}}
    assert refused(client.post("/api/d", headers={"Authorization": "Bearer x"}), "Bearer")


def test_auth_then_sessions_log_in_once(tmp_path):
    """Basic auth on a login route that puts the user in the session; other routes read it."""
    files = {
        "api/_middleware.py": f"from nextapi import sessions\n\nmiddleware = sessions({'k' * 32!r})\n",
        "api/login.py": """
            from nextapi import basic

            @basic(lambda user, password: user if password == "pw" else None)
            def post(req, res):
                req.session["user"] = req.user
                return {"hello": req.user}
        """,
        "api/whoami.py": "def get(req, res):\n    return {'user': req.session.get('user')}\n",
    }
    client = Client(App(write_tree(tmp_path, files)))
    assert client.post("/api/login", headers={"Authorization": "Basic " + b64("ada:no")}).status == 401
    assert client.get("/api/whoami").json() == {"user": None}
    assert client.post("/api/login", headers={"Authorization": "Basic " + b64("ada:pw")}).status == 200
    assert client.get("/api/whoami").json() == {"user": "ada"}


def test_called_on_a_running_loop_the_middleware_hands_back_an_awaitable():
    """A sync middleware cannot block on a loop that is running on its own thread: with an async
    verify it returns an awaitable doing the rest, for the caller to await."""
    from nextapi.request import Request
    from nextapi.response import Response
    from nextapi.testing import build_environ

    async def main() -> Any:
        env = build_environ("GET", "/api/me", "", {"authorization": f"Bearer {TOKEN}"})
        req = Request(env, "/api/me")
        pending = bearer(averify_token)(req, Response(), lambda: "the rest")
        assert asyncio.iscoroutine(pending)
        return await pending, req.user

    assert asyncio.run(main()) == ("the rest", {"name": "ada"})


def test_a_battery_decorator_passes_a_typed_routes_inputs_through(make_client):
    """Typed inputs (R90) reach a handler under @api_key, @sessions-style and plain Battery decorators."""
    src = ("from nextapi import api_key, rate_limit\n"
           "@api_key(lambda key: {'k': key} if key == 'good' else None)\n"
           "def get(req, res, q: int, name: str = 'x'):\n    return {'q': q, 'name': name, 'user': req.user}\n"
           "@rate_limit('100/minute')\n"
           "async def post(req, res, body: dict[str, int]):\n    return body\n")
    client = make_client({"api/t.py": src})
    ok = client.get("/api/t?q=5&name=n", headers={"X-API-Key": "good"})
    assert ok.json() == {"q": 5, "name": "n", "user": {"k": "good"}}
    bad = client.get("/api/t?q=five", headers={"X-API-Key": "good"})
    assert bad.status == 422 and bad.json()["detail"][0]["loc"] == ["query", "q"]
    assert client.get("/api/t?q=5").status == 401
    assert client.post("/api/t", json={"a": 1}).json() == {"a": 1}
