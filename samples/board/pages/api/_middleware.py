"""Every API route gets `req.session`: the visitor's name is remembered in a signed cookie.

The cookie is signed, not encrypted: the visitor can read what is in it (only
their own name), but cannot change it. BOARD_SECRET (32 characters or more,
the same for every worker) keeps sessions valid across restarts and workers;
without it each process makes its own, and a name is simply asked again.
"""
import os
import secrets

from nextapi import sessions

SECRET = os.environ.get("BOARD_SECRET") or secrets.token_urlsafe(32)

middleware = sessions(SECRET, max_age=365 * 86400)
