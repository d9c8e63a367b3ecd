"""Shared fixtures: build a pages folder from a dict of files, and a client for it."""
from __future__ import annotations

import logging
import textwrap
from pathlib import Path
from typing import Callable

import pytest

from nextapi import App
from nextapi.testing import Client

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "samples" / "comments" / "pages"


def write_tree(base: Path, files: dict[str, str]) -> Path:
    """Write {"api/x.py": "source"} under base/pages and return the pages folder."""
    pages = base / "pages"
    (pages / "api").mkdir(parents=True, exist_ok=True)
    for rel, source in files.items():
        path = pages / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
    return pages


@pytest.fixture
def make_client(tmp_path: Path) -> Callable[..., Client]:
    """make_client({"api/x.py": src}, dev=False, raise_server_exceptions=True) -> Client."""

    def make(files: dict[str, str], *, dev: bool = False, raise_server_exceptions: bool = True) -> Client:
        app = App(write_tree(tmp_path, files), dev=dev)
        return Client(app, raise_server_exceptions=raise_server_exceptions)

    return make


@pytest.fixture
def seed() -> Client:
    return Client(App(SEED))


@pytest.fixture(autouse=True)
def _nextapi_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="nextapi")
