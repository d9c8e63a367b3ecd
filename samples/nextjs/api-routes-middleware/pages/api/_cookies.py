"""The example's utils/cookies.ts: set a cookie on the response, Express style.

An object value is stored as `j:` and its JSON (as Express's `res.cookie`
does); `max_age` (seconds) also gives an `Expires`. The other options are those
of `res.set_cookie` (path, domain, secure, http_only, same_site), whose safer
defaults apply: `Path=/; HttpOnly; SameSite=Lax`.
"""
import json
import time


def set_cookie(res, name, value, **options):
    """This sets `cookie` using the `res` object."""
    string_value = "j:" + json.dumps(value, separators=(",", ":")) if isinstance(value, (dict, list)) else str(value)

    if isinstance(options.get("max_age"), (int, float)):
        options["expires"] = time.time() + options["max_age"]

    res.set_cookie(name, string_value, **options)
