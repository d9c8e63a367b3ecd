"""nextapi: the pages tree beside this file (bench/apps/pages/api/...)."""
from __future__ import annotations

import os

from nextapi import App

PAGES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pages")


def make_app(pages_dir: str = PAGES, dev: bool = False) -> App:
    return App(pages_dir, dev=dev)


app = make_app()
