"""The shapes of a comment, shared by the routes' annotations: checked on the way in, documented in OpenAPI."""
from typing import Annotated, TypedDict

from nextapi import Field

try:
    from typing import NotRequired, Required
except ImportError:  # Python 3.10
    from typing_extensions import NotRequired, Required  # type: ignore[assignment]

MAX_TEXT = 500
MAX_NAME = 40


class Comment(TypedDict):
    """One message on the board."""

    id: int
    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
    created: Annotated[str, Field(description="when it was posted, ISO 8601 UTC")]
    name: Annotated[str | None, Field(max_length=MAX_NAME, description="the author, or null when anonymous")]


class NewComment(TypedDict):
    """What POST /api/comments takes: the text, and optionally the author's name (remembered)."""

    text: Required[Annotated[str, Field(pattern=r"\S", max_length=MAX_TEXT,
                                        description="the message: not only spaces")]]
    name: NotRequired[Annotated[str | None, Field(max_length=MAX_NAME,
                                                  description="remembered for later posts; empty or null forgets it")]]
