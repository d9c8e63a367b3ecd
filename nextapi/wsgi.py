"""`gunicorn nextapi.wsgi:app`: the App for the folder in $NEXTAPI_PAGES (R52).

For servers that take a module path instead of an expression (gunicorn,
waitress-serve, uWSGI, mod_wsgi). The default is `pages`, relative to the
server's working directory; everything is imported now, so a broken handler
or a route conflict stops the worker at start-up, naming the file.
"""
import os

from .app import App

app = App(os.environ.get("NEXTAPI_PAGES", "pages"))
application = app  # the name mod_wsgi and uWSGI look for by default
