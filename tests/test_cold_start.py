"""Cold start: `import nextapi` and building an app leave the modules most requests never use
unimported (a regression guard on what is imported, not a timing; `make bench` times it)."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers import ROOT, SEED

LAZY = ("asyncio",)  # imported on the first async handler, ~50 ms with ssl and socket


def test_import_and_build_do_not_import_asyncio():
    code = ("import json, sys, nextapi; nextapi.App(sys.argv[1]); "
            f"print(json.dumps([m for m in {LAZY!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code, str(SEED)], capture_output=True, text=True, timeout=60,
                         cwd=ROOT, check=True)
    assert json.loads(out.stdout) == []


def test_an_async_handler_still_gets_its_loop(make_client):
    client = make_client({"api/a.py": "import asyncio\n\nasync def get(req, res):\n"
                                      "    await asyncio.sleep(0)\n    return {'ok': True}\n"})
    assert client.get("/api/a").json() == {"ok": True}
