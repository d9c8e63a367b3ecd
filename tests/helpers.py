"""Helpers shared by the test modules (plain functions and paths; the fixtures are in conftest.py)."""
from __future__ import annotations

import textwrap
from pathlib import Path

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
