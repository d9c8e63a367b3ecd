"""nextapi with `async def` handlers: the same routes as nextapi_app, in bench/apps/pages_async/."""
from __future__ import annotations

import os

from nextapi import App

app = App(os.path.join(os.path.dirname(os.path.abspath(__file__)), "pages_async"))
