"""The docs page (R96, R97) in headless Chromium: the board sample's operations, a POST sent from its form.

A DevServer thread on 127.0.0.1 (a free port) serves samples/board with
`App(..., docs=True)` and a temporary database; Debian's chromium and
chromedriver open /api/docs, find the board's operations listed by tag, fill
the form of `POST /api/comments`, send it and read the answer the page shows
(status, headers, body); the comment is then in the API. Without the browser,
its driver or selenium the test is skipped, saying why
(tests/e2e/install_browser.sh installs them; `make test` runs it).
"""
from __future__ import annotations

import io
import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nextapi import App
from tests.e2e.chromium import launch, wait

ROOT = Path(__file__).resolve().parents[2]
BOARD = ROOT / "samples" / "board" / "pages"


@pytest.fixture
def board_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from nextapi.server import DevServer

    monkeypatch.setenv("BOARD_DB", str(tmp_path / "board.db"))
    server = DevServer(("127.0.0.1", 0), App(BOARD, docs=True), out=io.StringIO(), colour=False)
    server.timeout = 10
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with launch(tmp_path / "chromium-profile", monkeypatch, window="1100,900") as driver:
        yield driver


def _api(base: str, path: str) -> Any:
    with urllib.request.urlopen(f"{base}{path}", timeout=10) as resp:
        return json.load(resp)


def test_the_docs_page_sends_a_post(browser: Any, board_url: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(board_url + "/api/docs")
    wait(browser, lambda d: d.execute_script("return document.body.dataset.ready") == "1", "the page's script")
    assert browser.title == "board · API docs"

    # Every operation of the board is listed, under its tag.
    listed = browser.execute_script(
        "return Array.from(document.querySelectorAll('article.op'), a => a.dataset.method + ' ' + a.dataset.path)")
    expected = {f"{o['method']} {path}" for path, item in _api(board_url, "/api/openapi.json")["paths"].items()
                for o in ({"method": m.upper()} for m in item if m in ("get", "post", "put", "patch", "delete"))}
    assert set(listed) == expected
    assert {"GET /api/comments", "POST /api/comments", "GET /api/comments/{id}",
            "DELETE /api/comments/{id}"} <= set(listed)
    section = browser.find_element(By.ID, "tag-comments")
    assert section.find_element(By.CSS_SELECTOR, "h2").text == "comments"

    # Open the POST's form, write a JSON body, send it.
    post = browser.find_element(By.ID, "op-post_comments")
    post.find_element(By.CSS_SELECTOR, "details.try > summary").click()
    box = post.find_element(By.CSS_SELECTOR, "textarea[name=body]")
    box.clear()
    browser.execute_script("arguments[0].value = arguments[1]", box, '{"text": "Hello from the docs page"')
    box.send_keys("}")  # a real keystroke too
    post.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, lambda d: post.get_attribute("data-sent") == "1", "the answer")

    status = post.find_element(By.CSS_SELECTOR, ".answer .status")
    assert status.get_attribute("data-status") == "201"
    assert status.text == "201 Created"
    headers = post.find_element(By.CSS_SELECTOR, ".answer pre.headers").text.lower()
    assert "content-type: application/json" in headers and "location: /api/comments/" in headers
    shown = json.loads(post.find_element(By.CSS_SELECTOR, ".answer pre.body").text)
    assert shown["text"] == "Hello from the docs page"
    assert [c["text"] for c in _api(board_url, "/api/comments")] == ["Hello from the docs page"]

    # A GET with its path parameter filled in shows that comment.
    get = browser.find_element(By.ID, "op-get_comments_id")
    get.find_element(By.CSS_SELECTOR, "details.try > summary").click()
    get.find_element(By.CSS_SELECTOR, "input[name='path:id']").send_keys(str(shown["id"]))
    get.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, lambda d: get.get_attribute("data-sent") == "1", "the GET's answer")
    assert get.find_element(By.CSS_SELECTOR, ".answer .status").get_attribute("data-status") == "200"
    assert json.loads(get.find_element(By.CSS_SELECTOR, ".answer pre.body").text)["id"] == shown["id"]

    # No script failed, and the page's CSP let nothing be refused.
    problems = [e["message"] for e in browser.get_log("browser")
                if "Uncaught" in e["message"] or "Content Security Policy" in e["message"]]
    assert problems == []
