"""Every API route gets `req.session`: the visitor's name is remembered in a signed cookie.

The cookie is signed, not encrypted: the visitor can read what is in it (only
their own name), but cannot change it. BOARD_SECRET (32 characters or more,
the same for every worker) keeps sessions valid across restarts and workers;
without it each process makes its own, and a name is simply asked again.

BOARD_ORIGINS (comma-separated, e.g. `https://app.example.com`) lets pages on
those origins call the API from the browser, cookies included, as a separate
frontend would. Unset, only the board's own page (same origin) can.
"""
import os
import secrets

from nextapi import cors, sessions

SECRET = os.environ.get("BOARD_SECRET") or secrets.token_urlsafe(32)
ORIGINS = [o.strip() for o in os.environ.get("BOARD_ORIGINS", "").split(",") if o.strip()]

_sessions = sessions(SECRET, max_age=365 * 86400)
_cors = cors(ORIGINS, credentials=True, headers=["Content-Type", "Idempotency-Key"]) if ORIGINS else None


def middleware(req, res, next):
    if _cors is None:
        return _sessions(req, res, next)
    return _cors(req, res, lambda: _sessions(req, res, next))  # CORS outermost: its headers reach every answer
