"""Shared fixtures: build a pages folder from a dict of files, and a client for it.

Only fixtures live here; the plain helpers they use are in tests/helpers.py.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import pytest

from nextapi import App
from nextapi.testing import Client
from tests.helpers import SEED, write_tree


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
