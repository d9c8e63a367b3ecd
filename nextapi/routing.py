"""The folder router: scan `api/` once, compile a trie, match paths against it.

One parse of each file name feeds three users: the trie, the conflict checks
(R5) and the route table of the CLI. Matching does a dict lookup per segment
and backtracks, so its cost depends on the path, not on the number of routes.
"""
from __future__ import annotations

import os
import re

from .errors import BuildError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (PERF: cold start); mypy reads the name
if TYPE_CHECKING:
    from typing import Any

STATIC, PARAM, CATCHALL, OPTIONAL = 0, 1, 2, 3


class Segment:
    """One path segment: its kind (STATIC, PARAM, CATCHALL, OPTIONAL) and its text or name.

    PERF: a plain class, not a dataclass: `dataclasses` imports `inspect`, both kept off the
    cold-start path (issue 15); read-only and compared by value as the frozen dataclass was.
    """

    __slots__ = ("kind", "name")

    kind: int
    name: str  # the static text, or the parameter name

    def __init__(self, kind: int, name: str) -> None:
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "name", name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Segment:
            return NotImplemented
        return self.kind == other.kind and self.name == other.name

    def __hash__(self) -> int:
        return hash((self.kind, self.name))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Segment, (self.kind, self.name))

    def __repr__(self) -> str:
        return f"Segment(kind={self.kind!r}, name={self.name!r})"

    def __str__(self) -> str:
        return ("{}", "[{}]", "[...{}]", "[[...{}]]")[self.kind].format(self.name)


class Route:
    """One route file, as parsed from its path: what it loads into is kept by the app.

    Compared and hashed by identity (a dict key of the app's). PERF: a plain class, not a
    dataclass (cold start, as Segment).
    """

    __slots__ = ("file", "rel", "segments")

    file: str  # absolute path of the file
    rel: str  # path relative to the pages folder, with '/' separators
    segments: tuple[Segment, ...]

    def __init__(self, file: str, rel: str, segments: tuple[Segment, ...]) -> None:
        object.__setattr__(self, "file", file)
        object.__setattr__(self, "rel", rel)
        object.__setattr__(self, "segments", segments)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Route, (self.file, self.rel, self.segments))

    def __repr__(self) -> str:
        return f"Route(file={self.file!r}, rel={self.rel!r}, segments={self.segments!r})"

    @property
    def pattern(self) -> str:
        return "/" + "/".join(str(s) for s in self.segments)


def parse_segment(part: str, where: str) -> Segment:
    """Turn one file or folder name (without .py) into a Segment."""
    if part.startswith("[[...") and part.endswith("]]"):
        kind, name = OPTIONAL, part[5:-2]
    elif part.startswith("[...") and part.endswith("]"):
        kind, name = CATCHALL, part[4:-1]
    elif part.startswith("[") and part.endswith("]"):
        kind, name = PARAM, part[1:-1]
    else:
        if "[" in part or "]" in part:
            raise BuildError(f"{where}: malformed segment {part!r}")
        return Segment(STATIC, part)
    if not name.isidentifier() and not name.replace("-", "_").isidentifier():
        raise BuildError(f"{where}: bad parameter name in {part!r}")
    return Segment(kind, name)


def within(real_root: str, real_path: str) -> bool:
    """Is `real_path` inside `real_root`? Both resolved with os.path.realpath, so a
    symlink that leaves the folder is caught; callers resolve once and reuse it."""
    return os.path.commonpath([real_root, real_path]) == real_root


def _skipped(name: str) -> bool:
    return name.startswith(("_", ".")) or name == "__pycache__"


# A request path naming what the scan skips or a file system trick: dot segments and
# dotfiles, `__pycache__`, `.py`/`.pyc` suffixes, backslashes, control characters.
_HIDDEN = re.compile(r"[\x00-\x1f\x7f\\]|/\.|/__pycache__(?:/|$)|\.py[co]?(?:/|$)", re.IGNORECASE)


def hidden_path(path: str) -> bool:
    """True for an API path that must 404 before matching, even where a [param] would take it.

    Static routes can never reach a skipped file (the scan left it out); this also
    keeps such names out of parameters, where handler code might join them to a path.
    """
    if not path.startswith("/api"):
        return False
    # PERF: each pattern needs a '.', a '\\', '__' or a control character; most paths have none.
    if "." not in path and "\\" not in path and "__" not in path and path.isprintable():
        return False
    return _HIDDEN.search(path) is not None


def scan(pages_dir: str, folder: str = "api", suffix: str = ".py",
         exclude: tuple[str, ...] = (), *, problems: list[BuildError] | None = None) -> list[Route]:
    """List every route file under pages_dir/folder in a stable order (R1, R2).

    The defaults give the API routes; `scan(pages_dir, "", ".html", ("api",))`
    gives the HTML pages (R61), so both go through one parse and one trie.
    `exclude` names top-level folders to leave out. A malformed file name
    raises, or with `problems` is listed there and left out.
    """
    top = os.path.join(pages_dir, folder) if folder else pages_dir
    if not os.path.isdir(top):
        raise BuildError(f"no {folder}/ folder in {pages_dir} (looked for {top})")
    real_top = os.path.realpath(top)
    routes: list[Route] = []
    islink, join = os.path.islink, os.path.join
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if not _skipped(d)
                             and not (dirpath == top and d in exclude))
        # PERF: the folder's relative and absolute paths once per folder, not per file (a dev build
        # of 10,000 files spent most of its scan in per-file realpath/relpath/abspath)
        rel_dir = os.path.relpath(dirpath, pages_dir).split(os.sep)
        if rel_dir == ["."]:
            rel_dir = []
        abs_dir = os.path.abspath(dirpath)
        for fname in sorted(filenames):
            if _skipped(fname) or not fname.endswith(suffix):
                continue
            path = join(abs_dir, fname)
            # A symlink that leaves the folder is never imported or served. os.walk does not enter
            # a symlinked folder, so only a symlinked file can leave: PERF: realpath for those only.
            if islink(path) and not within(real_top, os.path.realpath(path)):
                continue
            rel_parts = [*rel_dir, fname]
            rel = "/".join(rel_parts)
            parts = rel_parts[:-1] + [fname[:-len(suffix)]]
            if parts[-1] == "index":
                parts.pop()
            try:
                segments = tuple(parse_segment(p, rel) for p in parts)
            except BuildError as exc:
                if problems is None:
                    raise
                problems.append(exc)
                continue
            routes.append(Route(path, rel, segments))
    return routes


class Node:
    """A trie node: children by kind, tried static first, then [p], [...p], [[...p]]."""

    __slots__ = ("catchall", "optional", "param", "param_name", "route", "static", "where")

    def __init__(self) -> None:
        self.static: dict[str, Node] = {}
        self.param: Node | None = None
        self.param_name = ""
        self.catchall: Route | None = None
        self.optional: Route | None = None
        self.route: Route | None = None
        self.where = ""  # a file that created the param child, for error messages


def _check_params(route: Route) -> None:
    seen: set[str] = set()
    for i, seg in enumerate(route.segments):
        if seg.kind == STATIC:
            continue
        if seg.name in seen:
            raise BuildError(f"{route.rel}: parameter {seg.name!r} appears twice in {route.pattern}")
        seen.add(seg.name)
        if seg.kind in (CATCHALL, OPTIONAL) and i != len(route.segments) - 1:
            raise BuildError(f"{route.rel}: a catch-all {seg} must be the last segment")


def _conflict(a: Route, b: Route, why: str) -> BuildError:
    return BuildError(f"route conflict: {a.rel} and {b.rel} {why}")


def compile_routes(routes: list[Route], problems: list[BuildError] | None = None) -> Node:
    """Build the trie, rejecting every conflict R5 names, with both files.

    With `problems`, every conflict is listed there (not just the first) and
    the trie holds the routes that do not clash.
    """
    try:
        return _compile(routes)
    except BuildError:
        if problems is None:
            raise
    accepted: list[Route] = []
    for route in routes:  # only when there is a conflict: quadratic, still instant at 1,000 files
        try:
            _compile([*accepted, route])
        except BuildError as exc:
            problems.append(exc)
        else:
            accepted.append(route)
    return _compile(accepted)


def _compile(routes: list[Route]) -> Node:
    root = Node()
    for route in routes:
        _check_params(route)
        node = root
        for seg in route.segments:
            if seg.kind == STATIC:
                node = node.static.setdefault(seg.name, Node())
            elif seg.kind == PARAM:
                if node.param is None:
                    node.param, node.param_name, node.where = Node(), seg.name, route.rel
                elif node.param_name != seg.name:
                    raise BuildError(
                        f"route conflict: {node.where} and {route.rel} use different "
                        f"parameter names ([{node.param_name}] and [{seg.name}]) at one level"
                    )
                node = node.param
            else:
                other = node.catchall or node.optional or (node.route if seg.kind == OPTIONAL else None)
                if other is not None:
                    raise _conflict(other, route, "both match the same paths")
                if seg.kind == CATCHALL:
                    node.catchall = route
                else:
                    node.optional = route
                break
        else:
            if node.route is not None:
                raise _conflict(node.route, route, f"both map to {route.pattern}")
            if node.optional is not None:
                raise _conflict(node.optional, route, f"both match {route.pattern}")
            node.route = route
    return root


def match(root: Node, segs: list[str]) -> tuple[Route, dict[str, Any]] | None:
    """Find the route for the path segments after '/', binding parameters."""
    # PERF: first follow, without recursion, the branch the walk tries first (static, else
    # [param]); when it ends on a route that is the walk's answer, else backtrack in full.
    node, params = root, {}
    for seg in segs:
        child = node.static.get(seg)
        if child is None:
            child = node.param
            if child is None or not seg:
                break
            params[node.param_name] = seg
        node = child
    else:
        if node.route is not None:
            return node.route, params
    bound: list[tuple[str, Any]] = []
    route = _walk(root, segs, 0, len(segs), bound)
    if route is None:
        return None
    return route, dict(bound)


def _walk(node: Node, segs: list[str], i: int, n: int, bound: list[tuple[str, Any]]) -> Route | None:
    if i == n:
        return node.route or node.optional
    seg = segs[i]
    child = node.static.get(seg)
    if child is not None:
        found = _walk(child, segs, i + 1, n, bound)
        if found is not None:
            return found
    if not seg:
        return None  # an empty segment ('//') is never a parameter value
    if node.param is not None:
        bound.append((node.param_name, seg))
        found = _walk(node.param, segs, i + 1, n, bound)
        if found is not None:
            return found
        bound.pop()
    rest = node.catchall or node.optional
    if rest is not None and all(segs[i:]):
        bound.append((rest.segments[-1].name, segs[i:]))
        return rest
    return None


def static_table(routes: list[Route]) -> dict[str, Route]:
    """Routes with no parameter, by path: PERF: one dict get for the common case.

    Static segments always win (R4), so a fully static route found here is
    exactly what the trie walk would return.
    """
    return {r.pattern: r for r in routes if all(s.kind == STATIC for s in r.segments)}
