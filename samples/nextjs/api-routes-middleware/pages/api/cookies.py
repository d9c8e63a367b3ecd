"""/api/cookies: set a cookie and answer with the Set-Cookie header (pages/api/cookies.ts in the Next.js example)."""
import json

from ._cookies import set_cookie


async def handler(_req, res):
    # Calling our pure function using the `res` object, it will add the `set-cookie` header
    set_cookie(res, "Next.js", "api-middleware!")
    # Return the `set-cookie` header so we can display it in the browser and show that it works!
    res.end(json.dumps(res.get_header("Set-Cookie")))
