"""What every benchmark app serves, so their bytes can only differ by framework.

The comment list is the seed sample's (samples/comments), read once at import;
every app encodes it per request with the same compact JSON settings.
"""
from __future__ import annotations

import json
import os
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = os.path.join(ROOT, "samples", "comments", "pages", "api", "comments.json")

with open(SEED, encoding="utf-8") as _f:
    COMMENTS: list[dict[str, Any]] = json.load(_f)

# Workload C: a ~200-byte JSON object, posted and echoed back unchanged.
ECHO: dict[str, Any] = {
    "id": 12345,
    "author": "ada",
    "text": "Routes from files: neat. Echo this back, byte for byte, please.",
    "tags": ["wsgi", "bench", "json"],
    "reply_to": None,
    "score": 4.5,
    "draft": False,
    "meta": {"lang": "en", "client": "bench"},
}

JSON_TYPE = "application/json"
NOT_FOUND = {"error": "Not Found"}


def dumps(value: Any) -> str:
    """Compact JSON, as JSON.stringify and nextapi write it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


ECHO_BODY = dumps(ECHO).encode("utf-8")

# Workload Ct (typed C): a three-field item with constraints, posted and echoed back,
# validated by each framework from its declared type (bench/apps/typeditem.py for nextapi,
# the pydantic model in fastapi_app.py): name 1..100 characters, price >= 0, quantity 1..1000.
# The same bytes also go through the untyped /api/echo, so typed / untyped compares like with like.
TYPED: dict[str, Any] = {"name": "Espresso cup", "price": 12.5, "quantity": 3}
TYPED_BODY = dumps(TYPED).encode("utf-8")
# Bodies every typed route must refuse with a 422 (checked before any timing): each breaks one
# constraint. (Not a numeric string: pydantic's lax mode takes "3" for an int, nextapi does not.)
TYPED_INVALID: tuple[bytes, ...] = tuple(dumps({**TYPED, **bad}).encode("utf-8") for bad in (
    {"name": ""}, {"name": "x" * 101}, {"price": -0.01}, {"quantity": 0}, {"quantity": 1001},
    {"quantity": 2.5}, {"name": None},
))
