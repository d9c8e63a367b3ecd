"""R53: copying nextapi/ into a project is a full install; the runtime is stdlib only."""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT, SEED

PACKAGE = ROOT / "nextapi"


def import_problems(package: Path) -> list[str]:
    problems = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "nextapi":
                    problems.append(f"{path.name}:{node.lineno} absolute import of {name}")
                elif top not in sys.stdlib_module_names:
                    problems.append(f"{path.name}:{node.lineno} imports {name}, not in the standard library")
    return problems


def test_every_runtime_import_is_stdlib_and_relative():
    assert import_problems(PACKAGE) == []


def test_the_import_check_catches_third_party_and_absolute_imports(tmp_path):
    (tmp_path / "bad.py").write_text("import json\nimport requests\nfrom nextapi.app import App\nfrom .ok import x\n")
    assert import_problems(tmp_path) == [
        "bad.py:2 imports requests, not in the standard library",
        "bad.py:3 absolute import of nextapi.app",
    ]


def test_a_copied_package_serves_a_request_in_isolated_mode(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    shutil.copytree(PACKAGE, project / "nextapi", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(SEED, project / "pages")
    script = (
        "import os, sys\n"
        "sys.path.insert(0, os.getcwd())  # a project puts its own folder on the path\n"
        "from nextapi import App\n"
        "from nextapi.testing import Client\n"
        "import nextapi, json\n"
        "resp = Client(App('pages')).get('/api/comments/3')\n"
        "print(nextapi.__file__)\n"
        "print(resp.status, json.dumps(resp.json()['post']))\n"
    )
    # -I: isolated mode, no site-packages, no PYTHONPATH, no user site: only the copy and the stdlib.
    (project / "serve_one.py").write_text(script)
    out = subprocess.run([sys.executable, "-I", "serve_one.py"], cwd=project, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    file_line, status_line = out.stdout.strip().splitlines()
    assert file_line.startswith(str(project / "nextapi"))
    assert status_line == '200 "3"'
