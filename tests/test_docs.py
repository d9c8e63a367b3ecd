"""Every code block in README.md and docs/*.md runs, and shows what really happens.

The convention, for whoever writes the docs (one test per checked block, named
``<file>:<line of the opening fence>``):

- A ``python`` block whose first line is a comment naming a path
  (``# pages/api/comments/[id].py``) is that file of the example project. Each
  document has one project, in a temporary folder, holding every file shown so
  far; a later block with the same path replaces the file. After writing it the
  test builds ``nextapi.App(project / "pages")``, which imports every handler,
  so a broken route fails here. A ``test_*.py`` file outside ``pages/`` has its
  ``test_*`` functions run; any other ``.py`` file is compiled.
- ``<!-- file: pages/api/comments.json -->`` just before a block makes that
  block (in any language) a file of the project too.
- Any other ``python`` block is executed as a script, with the project folder
  as the working directory (so ``App("pages")`` is the project shown so far).
  Tracebacks point at the document's own line numbers.
- An ``http`` block is a transcript, sent through ``nextapi.testing.Client`` to
  ``App(project / "pages")``::

      POST /api/comments/7          <- request line, then headers, a blank line, a body
      Content-Type: application/json

      {"text": "Nice post"}
      HTTP/1.1 201 Created          <- the response: status, headers, blank line, body

  The status must match; each response header shown must be among those sent
  (others are not checked); a body shown is compared as JSON when it parses,
  else as text. Several exchanges in one block share one client (and its
  cookies). A ``Content-Length`` request header, when shown, is sent as written.
- ``<!-- test: GET /api/comments -> 200 -->`` before a block sends that request
  after the block has run; a JSON value after the status is the expected body:
  ``<!-- test: GET /api/hello -> 200 {"hello": "world"} -->``.
- ``<!-- new project -->`` starts an empty project for the blocks after it.
- ``json`` blocks must parse; ``sh``/``bash`` blocks must pass ``bash -n``.
  Other blocks (``text``, ``nginx``, none) are not checked.

Besides the blocks: the docs never send readers to a document they do not
have, and every relative link (and ``#anchor``) resolves.
"""
from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from nextapi import App
from nextapi.testing import Client

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^(```+|~~~+)\s*([\w+-]*)")
_MARKER = re.compile(r"^\s*<!--\s*(file|test|new project)\s*:?\s*(.*?)\s*-->\s*$")
_FILE_COMMENT = re.compile(r"^#\s*((?:[\w.\[\]-]+/)*[\w.\[\]-]+\.py)\s*$")
_TEST = re.compile(r"^([A-Z]+)\s+(\S+)\s*->\s*(\d{3})\s*(.*)$", re.S)
_REQUEST_LINE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|OPTIONS|HEAD)\s+(/\S*)(?:\s+HTTP/\d(?:\.\d)?)?\s*$")
_STATUS_LINE = re.compile(r"^HTTP/\d(?:\.\d)?\s+(\d{3})\b")
CHECKED = {"python", "py", "http", "json", "sh", "bash", "shell"}


@dataclass
class Block:
    doc: Path
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    project: int  # blocks of one document share a project until <!-- new project -->
    file: str | None = None  # the project path this block is written to
    tests: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.doc.relative_to(ROOT).as_posix()}:{self.line}"


def parse(doc: Path) -> list[Block]:
    """The fenced blocks of a Markdown file, with the markers just before each."""
    blocks: list[Block] = []
    lines = doc.read_text(encoding="utf-8").splitlines()
    pending_file: str | None = None
    pending_tests: list[str] = []
    project = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        marker = _MARKER.match(line)
        fence = _FENCE.match(line)
        if marker:
            kind, arg = marker.groups()
            if kind == "file":
                pending_file = arg
            elif kind == "test":
                if not _TEST.match(arg):
                    raise ValueError(f"{doc}:{i + 1}: bad test marker {arg!r}: use METHOD PATH -> STATUS [JSON]")
                pending_tests.append(arg)
            else:
                project += 1
        elif fence:
            start, close = i, fence.group(1)
            lang = fence.group(2).lower()
            i += 1
            body: list[str] = []
            while i < len(lines) and not lines[i].startswith(close):
                body.append(lines[i])
                i += 1
            if i == len(lines):
                raise ValueError(f"{doc}:{start + 1}: unclosed code block")
            code = "\n".join(body) + "\n"
            path = pending_file
            if path is None and lang in ("python", "py") and body and (m := _FILE_COMMENT.match(body[0])):
                path = m.group(1)
            blocks.append(Block(doc, start + 1, lang, code, project, path, pending_tests))
            pending_file, pending_tests = None, []
        i += 1
    if pending_file is not None or pending_tests:
        raise ValueError(f"{doc}: a marker at the end is not followed by a code block")
    return blocks


ALL = [block for doc in DOCS for block in parse(doc)]
RUN = [block for block in ALL if block.lang in CHECKED or block.file or block.tests]


@pytest.fixture
def project(tmp_path, monkeypatch):
    """An empty project folder as the working directory; its modules are forgotten afterwards."""
    monkeypatch.chdir(tmp_path)
    modules = set(sys.modules)
    path = list(sys.path)
    loggers = [logging.getLogger(), logging.getLogger("nextapi")]
    saved = [(lg, lg.level, list(lg.handlers)) for lg in loggers]  # a snippet may configure logging
    yield tmp_path
    for name in set(sys.modules) - modules:
        if name != "nextapi" and not name.startswith("nextapi."):  # nextapi loads its parts lazily: keep them
            del sys.modules[name]
    sys.path[:] = path
    for lg, level, handlers in saved:
        lg.setLevel(level)
        lg.handlers[:] = handlers


def write(project: Path, block: Block) -> Path:
    assert block.file is not None
    target = project / block.file
    assert target.resolve().is_relative_to(project.resolve()), f"{block.id}: {block.file} leaves the project"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(block.code, encoding="utf-8")
    return target


def app_of(project: Path) -> App:
    assert (project / "pages" / "api").is_dir(), "no pages/api/ file shown before this block"
    return App(project / "pages")


def client_for(project: Path, expect_error: bool) -> Client:
    # A 500 the doc shows on purpose is an answer, not a test failure.
    return Client(app_of(project), raise_server_exceptions=not expect_error)


@pytest.mark.parametrize("block", RUN, ids=[b.id for b in RUN])
def test_block(block: Block, project: Path) -> None:
    for earlier in ALL:
        if earlier is block:
            break
        if earlier.doc == block.doc and earlier.project == block.project and earlier.file:
            write(project, earlier)

    if block.file:
        target = write(project, block)
        if block.lang == "json":
            json.loads(block.code)
        if target.suffix == ".py":
            rel = Path(block.file)
            if rel.parts[0] == "pages":
                app_of(project)  # imports every handler: a broken file fails here
            elif rel.name.startswith("test_"):
                run_test_file(target)
            else:
                compile(block.code, str(target), "exec")
    elif block.lang in ("python", "py"):
        code = compile("\n" * block.line + block.code, str(block.doc), "exec")
        exec(code, {"__name__": "__docs__"})
    elif block.lang == "http":
        run_transcript(block, project)
    elif block.lang == "json":
        json.loads(block.code)
    elif block.lang in ("sh", "bash", "shell"):
        bash = shutil.which("bash")
        if bash:
            done = subprocess.run([bash, "-n"], input=block.code, text=True, capture_output=True)
            assert done.returncode == 0, done.stderr

    for test in block.tests:
        run_marker(test, project)


def run_test_file(path: Path) -> None:
    namespace: dict[str, object] = {"__name__": path.stem, "__file__": str(path)}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
    tests = [fn for name, fn in namespace.items() if name.startswith("test_") and callable(fn)]
    assert tests, f"{path.name} defines no test_ function"
    for fn in tests:
        fn()


def run_marker(test: str, project: Path) -> None:
    m = _TEST.match(test)
    assert m is not None
    method, path, status, expected = m.group(1), m.group(2), int(m.group(3)), m.group(4).strip()
    resp = client_for(project, status >= 500).request(method, path)
    assert resp.status == status, f"{method} {path}: {resp.status} {resp.text[:500]}"
    if expected:
        assert resp.json() == json.loads(expected)


@dataclass
class Message:
    start: str
    headers: list[tuple[str, str]]
    body: str


def split_transcript(code: str) -> list[tuple[Message, Message]]:
    """Alternating requests and responses: a start line, headers, a blank line, a body."""
    messages: list[list[str]] = []
    for line in code.splitlines():
        if _REQUEST_LINE.match(line) or _STATUS_LINE.match(line):
            messages.append([line])
        elif not messages:
            raise AssertionError(f"a transcript starts with a request line, not {line!r}")
        else:
            messages[-1].append(line)
    parsed = []
    for lines in messages:
        start, rest = lines[0], lines[1:]
        headers: list[tuple[str, str]] = []
        while rest and rest[0].strip():
            name, sep, value = rest.pop(0).partition(":")
            assert sep, f"not a header line: {name!r}"
            headers.append((name.strip(), value.strip()))
        body = "\n".join(rest[1:]).strip("\n") if rest else ""
        parsed.append(Message(start, headers, body))
    kinds = ["request" if _REQUEST_LINE.match(m.start) else "response" for m in parsed]
    assert kinds and kinds == ["request", "response"] * (len(parsed) // 2), \
        f"a transcript alternates request and response, got {kinds}"
    return list(zip(parsed[::2], parsed[1::2]))


def run_transcript(block: Block, project: Path) -> None:
    exchanges = split_transcript(block.code)
    statuses = [int(_STATUS_LINE.match(r.start).group(1)) for _, r in exchanges]  # type: ignore[union-attr]
    client = client_for(project, max(statuses) >= 500)
    for (request, response), status in zip(exchanges, statuses):
        method, path = _REQUEST_LINE.match(request.start).groups()  # type: ignore[union-attr]
        body = request.body.encode("utf-8") if request.body else None
        resp = client.request(method, path, headers=dict(request.headers), body=body)
        shown = f"{method} {path} answered {resp.status} {dict(resp.headers.items())} {resp.content[:500]!r}"
        assert resp.status == status, shown
        for name, value in response.headers:
            assert value in resp.headers.get_all(name), f"{name}: {value!r} not in {resp.headers.get_all(name)}; {shown}"
        if response.body:
            try:
                expected = json.loads(response.body)
            except ValueError:
                assert resp.text.strip("\n") == response.body, shown
            else:
                assert resp.json() == expected, shown


# -- the documents themselves --------------------------------------------------
@pytest.mark.parametrize("doc", DOCS, ids=[d.relative_to(ROOT).as_posix() for d in DOCS])
def test_no_pointer_to_a_document_users_do_not_have(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    assert not re.search(r"\bspec(\.md)?\b", text, re.I), "the docs explain it in their own words"
    assert not re.search(r"\bR\d{1,3}\b", text), "rule ids belong in tests, not in user docs"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(doc: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", doc.read_text(encoding="utf-8"), flags=re.M | re.S)
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*$", text, re.M)}


@pytest.mark.parametrize("doc", DOCS, ids=[d.relative_to(ROOT).as_posix() for d in DOCS])
def test_relative_links_resolve(doc: Path) -> None:
    text = re.sub(r"^```.*?^```", "", doc.read_text(encoding="utf-8"), flags=re.M | re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        assert file.exists(), f"{doc.name} links to {target}, which does not exist"
        if anchor and file.suffix == ".md":
            assert anchor in _anchors(file), f"{doc.name} links to {target}: no such heading"


def test_every_document_has_checked_blocks() -> None:
    for doc in DOCS:
        assert any(b.doc == doc for b in RUN), f"{doc.name} has no checked code block"
    assert (ROOT / "docs" / "reference.md") in DOCS
