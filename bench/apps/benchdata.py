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
