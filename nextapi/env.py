"""`.env` files in the project folder, loaded the way Next.js loads them (R73).

`nextapi dev` reads the development files, `nextapi start` and
`nextapi.wsgi:app` the production ones, highest priority first::

    .env.development.local   .env.local   .env.development   .env
    .env.production.local    .env.local   .env.production    .env

The first file that sets a key wins, and a variable already in the
environment is never overridden: the shell, the container or the process
manager always has the last word over a file in the folder.

The syntax is dotenv's (what Next.js parses), made strict: a line that is
not a comment, blank or ``[export ]KEY=value`` is an error naming file and
line, never silently skipped, because a skipped line is a missing secret found
in production. Single quotes are literal and end on their line; double quotes
take ``\\n`` (and ``\\r``, ``\\"``, ``\\\\``, ``\\$``) escapes and may span
lines; `` #`` after an unquoted value starts a comment; ``$NAME``,
``${NAME}`` and ``${NAME:-default}`` expand in unquoted and double-quoted
values from the environment or any key loaded before (an unknown name is
""), and ``\\$`` is a literal dollar.
"""
from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from typing import Literal

from .errors import BuildError

Mode = Literal["development", "production", "test"]

# Highest priority first, as Next.js has them; its test mode skips .env.local so that
# every machine runs the tests with the same values.
ENV_FILES: dict[str, tuple[str, ...]] = {
    "development": (".env.development.local", ".env.local", ".env.development", ".env"),
    "production": (".env.production.local", ".env.local", ".env.production", ".env"),
    "test": (".env.test.local", ".env.test", ".env"),
}

log = logging.getLogger("nextapi")

_KEY = re.compile(r"[ \t]*(?:export[ \t]+)?([A-Za-z0-9_.-]+)[ \t]*=")  # dotenv's names: [\w.-]+
_NAME = re.compile(r"[A-Za-z0-9_]+")  # what $NAME / ${NAME} may name (dotenv-expand's \w+)
_BRACED = re.compile(r"\{([A-Za-z0-9_]+)(?::-([^}\\]*))?\}")
_AFTER_QUOTE = re.compile(r"[ \t]*(?:#.*)?$")  # after a closing quote: spaces, then a comment or nothing
_DOUBLE_ESCAPES = {"n": "\n", "r": "\r", '"': '"', "\\": "\\"}  # \$ is kept for expansion to see


class EnvError(BuildError):
    """A malformed line in a `.env` file: `file:line: why`. The line's text is never quoted
    in the message, because it may hold a secret."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}")
        self.file, self.line, self.reason = file, line, message


def env_files(project_dir: str | os.PathLike[str], mode: Mode) -> list[str]:
    """The mode's files that exist in `project_dir`, highest priority first (for a banner)."""
    try:
        names = ENV_FILES[mode]
    except KeyError:
        raise ValueError(f"mode must be one of {', '.join(ENV_FILES)}, not {mode!r}") from None
    folder = os.fspath(project_dir)
    return [os.path.join(folder, name) for name in names if os.path.isfile(os.path.join(folder, name))]


def load_env(project_dir: str | os.PathLike[str], mode: Mode) -> dict[str, str]:
    """Read the mode's `.env` files in `project_dir` into os.environ; return what was set.

    Call it before the handlers are imported, so module-level `os.environ[...]` reads see
    the values. Every file is parsed before anything is set, so a malformed line leaves
    the environment as it was. Never raises except EnvError for a malformed line (an
    unreadable file is skipped with a warning, as Next.js does).
    """
    environ = os.environ
    loaded: dict[str, str] = {}

    def lookup(name: str) -> str | None:  # the value the variable has by now: env, then earlier files
        value = environ.get(name)
        return value if value is not None else loaded.get(name)

    for path in env_files(project_dir, mode):
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            log.warning("cannot read %s: %s", path, exc.strerror or exc)
            continue
        for key, value in parse_env(data, file=path, lookup=lookup).items():
            if key not in environ and key not in loaded:  # the first file that sets a key wins
                loaded[key] = value
    environ.update(loaded)
    return loaded


def parse_env(source: str | bytes, *, file: str = ".env",
              lookup: Callable[[str], str | None] | Mapping[str, str] | None = None) -> dict[str, str]:
    """The KEY=value pairs of one file's text, expanded; a key set twice keeps its last value
    (as dotenv has it). `lookup` answers `$NAME` for names this file has not set yet (default:
    os.environ). Raises EnvError naming `file` and the line for anything malformed."""
    text = _decode(source, file)
    if lookup is None:
        lookup = os.environ
    outer: Callable[[str], str | None] = lookup.get if isinstance(lookup, Mapping) else lookup
    values: dict[str, str] = {}

    def resolve(name: str) -> str | None:
        found = outer(name)
        return found if found is not None else values.get(name)

    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i = 0
    while i < len(lines):
        number, line = i + 1, lines[i]
        i += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        m = _KEY.match(line)
        if m is None:
            if "=" not in line:
                raise EnvError(file, number, "expected KEY=value")
            name = line.split("=", 1)[0].strip()
            name = name[len("export"):].strip() if name.startswith("export ") else name
            raise EnvError(file, number, f"{name!r} is not a valid name (letters, digits, _ . -)"
                           if name else "expected KEY=value, found no key before =")
        key, rest = m.group(1), line[m.end():]
        value = rest.lstrip(" \t")
        quote = value[:1]
        if quote in ("'", "`"):
            end = value.find(quote, 1)
            if end < 0:
                what = "single quote" if quote == "'" else "backtick"
                raise EnvError(file, number, f"unterminated {what}: it must close on the same line "
                                             "(double quotes may span lines)")
            _after_quote(value[end + 1:], file, number)
            value = value[1:end]
        elif quote == '"':
            body, after, i = _double_quoted(lines, i - 1, value, file)
            _after_quote(after, file, i)
            value = _expand(body, resolve, file, number, escapes=True)
        else:
            comment = re.search(r"[ \t]#", rest)  # ` #` starts a comment; `a#b` is a value
            raw = (rest[:comment.start()] if comment else rest).strip(" \t")
            value = _expand(raw, resolve, file, number, escapes=False)
        if "\0" in value:
            raise EnvError(file, number, "a NUL character cannot be in the environment")
        values[key] = value
    return values


def _decode(source: str | bytes, file: str) -> str:
    if isinstance(source, str):
        return source.removeprefix("\ufeff")
    try:
        return source.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EnvError(file, source.count(b"\n", 0, exc.start) + 1, "not UTF-8 text") from None


def _after_quote(after: str, file: str, number: int) -> None:
    if not _AFTER_QUOTE.match(after):
        raise EnvError(file, number, "unexpected text after the closing quote (quote the whole value)")


def _double_quoted(lines: list[str], start: int, rest: str, file: str) -> tuple[str, str, int]:
    """The raw text between double quotes, which may go on over the next lines; the text
    after the closing quote and the 1-based number of the line that holds it."""
    parts: list[str] = []
    segment, row = rest[1:], start
    while True:
        pos = 0
        while True:
            pos = segment.find('"', pos)
            if pos < 0:
                break
            backslashes = len(segment[:pos]) - len(segment[:pos].rstrip("\\"))
            if backslashes % 2 == 0:  # not escaped
                parts.append(segment[:pos])
                return "\n".join(parts), segment[pos + 1:], row + 1
            pos += 1
        parts.append(segment)
        row += 1
        if row == len(lines):
            raise EnvError(file, start + 1, "unterminated double quote")
        segment = lines[row]


def _expand(raw: str, resolve: Callable[[str], str | None], file: str, number: int, *, escapes: bool) -> str:
    """Expand $NAME, ${NAME} and ${NAME:-default}; \\$ is a dollar. In double quotes also the
    escapes \\n \\r \\" \\\\; any other backslash stays as written."""
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if c == "\\" and i + 1 < n and (raw[i + 1] == "$" or (escapes and raw[i + 1] in _DOUBLE_ESCAPES)):
            out.append("$" if raw[i + 1] == "$" else _DOUBLE_ESCAPES[raw[i + 1]])
            i += 2
        elif c == "$" and raw.startswith("{", i + 1):
            m = _BRACED.match(raw, i + 1)
            if m is None:
                raise EnvError(file, number, "malformed ${...}: write ${NAME} or ${NAME:-default}, or \\$ for a dollar")
            value, default = resolve(m.group(1)), m.group(2)
            if default is not None and not value:  # ${NAME:-default}: unset or empty, as in a shell
                value = default
            out.append(value or "")
            i = m.end()
        elif c == "$" and (m := _NAME.match(raw, i + 1)) is not None:
            out.append(resolve(m.group(0)) or "")
            i = m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)
