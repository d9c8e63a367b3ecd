"""cors() as a real browser checks it (R101): headless Chromium, two origins on 127.0.0.1.

One server (a threaded nextapi.server.DevServer on a free port) serves an API
with `App(pages, middleware=[cors([page origin], credentials=True)])`; another
(http.server, another port, so another origin) serves a static page whose
script calls the API with fetch: a GET, a JSON POST and a DELETE (both
preflighted) and a credentialed pair that sets and then sends a cookie. The
page writes each outcome into the DOM. With cors() all four succeed; with the
same API without it, each fetch rejects with a TypeError, and the preflighted
POST and DELETE never reach their handlers.

Chromium and selenium are set up by tests/e2e/chromium.py, as for the board test:
without them the test is skipped, saying why.
"""
from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from nextapi import App, cors
from nextapi.server import DevServer
from tests.e2e.chromium import WAIT_S, launch
from tests.helpers import write_tree

API = {
    "api/items.py": """
        def get(req, res):
            return {"items": ["one", "two"]}

        def post(req, res):
            res.status(201)
            return {"got": req.body}

        def delete(req, res):
            return {"deleted": req.query.get("id")}
    """,
    "api/session.py": """
        def get(req, res):
            sid = req.cookies.get("sid")
            if sid is None:
                res.set_cookie("sid", "s3cr3t", same_site="Lax")
                return {"set": True}
            return {"sid": sid}
    """,
}

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>cors from another origin</title>
<pre id="out"></pre>
<script>
const api = new URLSearchParams(location.search).get("api");
const results = {};
async function run(name, call) {
  try {
    results[name] = {ok: true, value: await call()};
  } catch (e) {
    results[name] = {ok: false, error: e.name + ": " + e.message};
  }
}
async function answer(response) {
  return {status: response.status, body: await response.json()};
}
(async () => {
  await run("get", async () => answer(await fetch(api + "/api/items")));
  await run("post", async () => answer(await fetch(api + "/api/items", {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({text: "hi"}),
  })));
  await run("delete", async () => answer(await fetch(api + "/api/items?id=7", {method: "DELETE"})));
  await run("credentials", async () => {
    const first = await answer(await fetch(api + "/api/session", {credentials: "include"}));
    const second = await answer(await fetch(api + "/api/session", {credentials: "include"}));
    return [first, second];
  });
  document.getElementById("out").textContent = JSON.stringify(results);
  document.body.dataset.done = "1";
})();
</script>
"""


class _PageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass


@contextmanager
def serving(server: Any) -> Iterator[str]:
    """Serve in a daemon thread; the base URL; always shut down and joined."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def run_page(driver: Any, page: str, api: str) -> dict[str, Any]:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{page}/?api={api}")
    WebDriverWait(driver, WAIT_S, poll_frequency=0.05).until(
        lambda d: d.execute_script("return document.body.dataset.done") == "1", message="the page's fetches")
    return json.loads(driver.execute_script("return document.getElementById('out').textContent"))



@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with launch(tmp_path / "chromium-profile", monkeypatch, window="900,860") as driver:
        yield driver


@pytest.mark.parametrize("with_cors", [True, False], ids=["cors", "no-cors"])
def test_fetch_from_another_origin(browser: Any, tmp_path: Path, with_cors: bool) -> None:
    pages = write_tree(tmp_path, API)
    seen: list[tuple[str, str, str | None]] = []

    def record(req: Any, res: Any, next: Callable[[], Any]) -> Any:
        seen.append((req.method, req.path, req.headers.get("origin")))
        return next()

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)) as page:
        middleware = [record, cors([page], credentials=True)] if with_cors else [record]
        api_server = DevServer(("127.0.0.1", 0), App(pages, middleware=middleware), out=io.StringIO())
        with serving(api_server) as api:
            results = run_page(browser, page, api)

    assert set(results) == {"get", "post", "delete", "credentials"}, results
    if with_cors:
        assert results["get"] == {"ok": True, "value": {"status": 200, "body": {"items": ["one", "two"]}}}
        assert results["post"] == {"ok": True, "value": {"status": 201, "body": {"got": {"text": "hi"}}}}
        assert results["delete"] == {"ok": True, "value": {"status": 200, "body": {"deleted": "7"}}}
        assert results["credentials"] == {"ok": True, "value": [{"status": 200, "body": {"set": True}},
                                                                {"status": 200, "body": {"sid": "s3cr3t"}}]}
        # the browser asked first for the JSON POST and the DELETE, not for the simple GET
        assert ("OPTIONS", "/api/items", page) in seen
        assert [m for m, p, _ in seen if p == "/api/items"].count("OPTIONS") == 2, seen
        assert all(origin == page for _, _, origin in seen if origin is not None)
    else:
        for name, outcome in results.items():
            assert outcome["ok"] is False, (name, outcome)
            assert outcome["error"].startswith("TypeError"), (name, outcome)
        methods = [m for m, p, _ in seen if p == "/api/items"]
        assert "GET" in methods  # sent, its answer withheld from the page
        assert "POST" not in methods and "DELETE" not in methods, seen  # their preflights failed
