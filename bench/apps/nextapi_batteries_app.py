"""nextapi with the batteries a browser-facing API turns on: CORS and a signed cookie session.

The same routes as nextapi_app, with App(middleware=[cors(...), sessions(...)]) around them,
for the cost of the two on every request (the session is read, not written: no cookie sent).
"""
from __future__ import annotations

import os

from nextapi import App, cors, sessions

PAGES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pages")

app = App(PAGES, middleware=[cors(["https://app.example.com"]), sessions("b" * 32)])
