"""`gunicorn nextapi.wsgi:app`: the App for the folder in $NEXTAPI_PAGES (R52, R73).

For servers that take a module path instead of an expression (gunicorn,
waitress-serve, uWSGI, mod_wsgi; `nextapi start` runs gunicorn this way). The
default is `pages`, relative to the server's working directory. The production
`.env` files of the project folder (the one holding the pages folder) are read
first, as `nextapi start` reads them, so handlers see their values at import:
`.env.production.local`, `.env.local`, `.env.production`, `.env`; a variable
already in the environment wins, and a malformed line raises EnvError naming
file and line. Everything is imported now, so a broken handler or a route
conflict stops the worker at start-up, naming the file.

Behind a reverse proxy, `NEXTAPI_TRUSTED_PROXIES` (comma-separated addresses or
CIDR ranges, from the environment or those `.env` files) is the App's
`trusted_proxies` (R100): `req.ip` is then the client's address from
`X-Forwarded-For` for requests that came through them. A malformed entry is a
ValueError at start-up, naming it.
"""
import os

from .app import App
from .env import load_env

pages_dir = os.path.abspath(os.environ.get("NEXTAPI_PAGES", "pages"))
load_env(os.path.dirname(pages_dir), "production")
proxies = [p.strip() for p in os.environ.get("NEXTAPI_TRUSTED_PROXIES", "").split(",") if p.strip()]
app = App(pages_dir, trusted_proxies=proxies)
application = app  # the name mod_wsgi and uWSGI look for by default
