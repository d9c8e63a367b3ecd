"""The board sample driven in headless Chromium, end to end (R60, R61).

A threaded wsgiref server on 127.0.0.1 (a free port) serves samples/board
with a temporary database; Debian's chromium and chromedriver drive the page
like a person would: load it, see an API validation error, post, reload,
delete. Selenium is told exactly which browser and driver to use, so it never
downloads one. Without them the test is skipped, saying why
(tests/e2e/install_browser.sh installs them; `make test` runs it).

NEXTAPI_SCREENSHOT=1 also saves docs/board.png, the picture in the README.
"""
from __future__ import annotations

import json
import os
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from nextapi import App
from tests.e2e.chromium import launch, wait

ROOT = Path(__file__).resolve().parents[2]
BOARD = ROOT / "samples" / "board" / "pages"
SCREENSHOT = ROOT / "docs" / "board.png"


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass


@pytest.fixture
def board_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("BOARD_DB", str(tmp_path / "board.db"))
    server = make_server("127.0.0.1", 0, App(BOARD), server_class=_ThreadingServer,
                         handler_class=_QuietHandler)
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
    with launch(tmp_path / "chromium-profile", monkeypatch, window="900,860") as driver:
        yield driver


def _texts(driver: Any) -> list[str]:
    """The messages on the page, read in one script call (the list re-renders under us)."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#comments li .text'), el => el.textContent)")


def _load(driver: Any, url: str) -> None:
    """Open the page and wait until its first GET /api/comments has been rendered."""
    driver.get(url)
    wait(driver, lambda d: d.execute_script("return document.body.dataset.loads") == "1", "the first load")


def _api_comments(base: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{base}/api/comments", timeout=10) as resp:
        return json.load(resp)


def test_the_board_in_headless_chromium(browser: Any, board_url: str) -> None:
    from selenium.webdriver.common.by import By

    def post(text: str) -> None:
        box = browser.find_element(By.ID, "text")
        box.clear()
        if text:
            browser.execute_script("arguments[0].value = arguments[1]", box, text[:-1])
            box.send_keys(text[-1])  # a real keystroke, so the page's input handler runs
        browser.find_element(By.ID, "post").click()

    def error() -> str:
        box = browser.find_element(By.ID, "error")
        return box.text if box.is_displayed() else ""

    _load(browser, board_url + "/")
    assert browser.title == "Message board · nextapi"
    assert browser.find_element(By.ID, "status").text == "No messages yet. Be the first!"

    # The API's validation errors (422 {"error": ..., "detail": [...]}) are shown on the page.
    post("")
    wait(browser, lambda d: error() == "text: String should match pattern '\\S'", "the empty-text error")
    post("x" * 501)
    wait(browser, lambda d: error() == "text: Value should have at most 500 characters", "the too-long error")
    assert _texts(browser) == []

    # Post two messages; each appears, newest first, and the error goes away.
    post("Hello from headless Chromium!")
    wait(browser, lambda d: _texts(d) == ["Hello from headless Chromium!"], "the first message")
    assert error() == ""
    assert browser.find_element(By.ID, "text").get_attribute("value") == ""
    post("Pages, public files and the JSON API,\nall from one folder.")
    wait(browser, lambda d: len(_texts(d)) == 2, "the second message")
    assert _texts(browser)[1] == "Hello from headless Chromium!"
    assert browser.find_element(By.ID, "status").text == "2 messages"

    # A reload reads them back from SQLite.
    _load(browser, board_url + "/")
    assert _texts(browser) == ["Pages, public files and the JSON API,\nall from one folder.",
                               "Hello from headless Chromium!"]
    if os.environ.get("NEXTAPI_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        assert browser.save_screenshot(str(SCREENSHOT))

    # Delete the first message: gone from the page, from the API, and after a reload.
    first = next(li for li in browser.find_elements(By.CSS_SELECTOR, "#comments li")
                 if li.find_element(By.CSS_SELECTOR, ".text").text == "Hello from headless Chromium!")
    first.find_element(By.CSS_SELECTOR, "button.delete").click()
    wait(browser, lambda d: "Hello from headless Chromium!" not in _texts(d), "the deleted message to go")
    assert [c["text"] for c in _api_comments(board_url)] == [
        "Pages, public files and the JSON API,\nall from one folder."]
    _load(browser, board_url + "/")
    assert _texts(browser) == ["Pages, public files and the JSON API,\nall from one folder."]
    assert browser.find_element(By.ID, "status").text == "1 message"

    # The stylesheet and icon from public/ loaded, and no script failed.
    assert browser.execute_script(
        "return getComputedStyle(document.querySelector('main')).maxWidth") != "none"
    problems = [e["message"] for e in browser.get_log("browser")
                if "Uncaught" in e["message"] or " 404 " in e["message"]]
    assert problems == []
