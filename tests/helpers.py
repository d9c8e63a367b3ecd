"""Helpers shared by the test modules (plain functions and paths; the fixtures are in conftest.py)."""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Callable

from nextapi.errors import HTTPError

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


def only_4xx(fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """fn(*args, **kw), or the HTTPError it raised, which must be a 4xx."""
    try:
        return fn(*args, **kw)
    except HTTPError as exc:
        assert 400 <= exc.status < 500, exc
        return exc


def grouped(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Pairs as nextapi gives them back: a repeated key becomes a list, in order (R21)."""
    out: dict[str, Any] = {}
    for k, v in pairs:
        out[k] = [*out[k], v] if isinstance(out.get(k), list) else [out[k], v] if k in out else v
    return out


def run_cli(capsys: Any, *argv: str) -> tuple[int, str, str]:
    """`nextapi ARGV...` in-process: (exit code, stdout, stderr), a SystemExit taken as its code."""
    from nextapi.cli import main

    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
