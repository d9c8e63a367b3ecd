"""Errors as exceptions, turned into JSON responses in one place (the app)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (PERF: cold start); mypy reads the name
if TYPE_CHECKING:
    import logging
    from typing import Any


class _LazyLogger:
    """`logging.getLogger(name)`, with `logging` imported on the first log call.

    PERF: `logging` (with `traceback`, `string`, `weakref`) costs a few ms of every cold start,
    and most processes only log on an error. Each attribute is looked up on the real logger, so
    levels, handlers and pytest's caplog behave exactly as with the logger itself.
    """

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        import logging  # PERF: on the first log call, not at `import nextapi` (cold start)
        return getattr(logging.getLogger(self._name), attr)

    def __repr__(self) -> str:
        return f"<lazy logger {self._name!r}>"


# The "nextapi" logger, typed as the Logger it stands for (nextapi.app, response, frontend...).
logger: logging.Logger = _LazyLogger("nextapi")  # type: ignore[assignment]  # PERF: logging imported on first use


class HTTPError(Exception):
    """Raise anywhere in a handler, middleware or parser to answer with `status`.

    The app turns it into ``{"error": message}`` with the given extra headers,
    so every framework-made error has the same shape (R40, R42); an API with
    an error shape of its own (``{"errors": [...]}``) passes it as ``body``.
    """

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        body: Any = None,
    ) -> None:
        if message is None:
            # PERF: only for an error without a message, not at import (cold start)
            from http import HTTPStatus

            try:
                message = HTTPStatus(status).phrase
            except ValueError:
                message = "Error"
        super().__init__(message)
        self.status = int(status)
        self.message = message
        self.body = body  # any JSON value; replaces {"error": message} (R40)
        if headers is None:
            self.headers: list[tuple[str, str]] = []
        elif isinstance(headers, Mapping):
            self.headers = list(headers.items())
        else:
            self.headers = list(headers)

    def __repr__(self) -> str:
        return f"HTTPError({self.status}, {self.message!r})"


class BuildError(Exception):
    """The pages folder cannot become an app: a conflict, a missing api/ folder,
    or a handler file that fails to load. The message names the file(s)."""


class LoadError(BuildError):
    """A handler or middleware file that cannot be used, with file and line."""

    def __init__(self, file: str, line: int | None, message: str, tb: str = "") -> None:
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {message}")
        self.file, self.line, self.traceback = file, line, tb
