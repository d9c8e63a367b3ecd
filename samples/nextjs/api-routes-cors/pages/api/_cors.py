"""An async port of the Express `cors` package, which the Next.js example runs.

`Cors(**options)` makes a nextapi middleware, `async def cors(req, res, next)`,
with the package's options and defaults under Python names:

    origin                  "*" (default), one origin, a list of allowed origins,
                            True (reflect the request's Origin) or False (no CORS)
    methods                 GET,HEAD,PUT,PATCH,POST,DELETE by default
    allowed_headers         None: reflect Access-Control-Request-Headers
    exposed_headers         None: no Access-Control-Expose-Headers
    credentials             False
    max_age                 None: no Access-Control-Max-Age
    preflight_continue      False: answer the preflight here, the route never runs
    options_success_status  204

As in the package, every OPTIONS request is a preflight: it gets the methods,
the allowed headers and the max age, and a 204. Other requests get the origin
(and credentials and exposed headers) headers, then the route runs.
"""

DEFAULT_METHODS = ("GET", "HEAD", "PUT", "PATCH", "POST", "DELETE")


def Cors(*, origin="*", methods=DEFAULT_METHODS, allowed_headers=None, exposed_headers=None,
         credentials=False, max_age=None, preflight_continue=False, options_success_status=204):
    def allow_origin(req, res):
        if origin is False:
            return
        if origin == "*":
            res.set_header("Access-Control-Allow-Origin", "*")
            return
        requested = req.headers.get("Origin")
        if origin is True:
            allowed = requested
        elif isinstance(origin, str):
            allowed = origin
        else:
            allowed = requested if requested in origin else False
        if allowed:
            res.set_header("Access-Control-Allow-Origin", allowed)
        vary(res, "Origin")  # the answer depends on the Origin: caches must keep them apart

    async def cors(req, res, next):
        allow_origin(req, res)
        if credentials:
            res.set_header("Access-Control-Allow-Credentials", "true")
        if exposed_headers:
            res.set_header("Access-Control-Expose-Headers", ",".join(exposed_headers))

        if req.method != "OPTIONS":
            return await next()

        # preflight
        res.set_header("Access-Control-Allow-Methods", ",".join(methods))
        if allowed_headers is None:
            headers = req.headers.get("Access-Control-Request-Headers")
            vary(res, "Access-Control-Request-Headers")
        else:
            headers = ",".join(allowed_headers)
        if headers:
            res.set_header("Access-Control-Allow-Headers", headers)
        if max_age is not None:
            res.set_header("Access-Control-Max-Age", str(max_age))
        if preflight_continue:
            return await next()
        res.status(options_success_status).end()  # answered here: the route never runs
        return None

    return cors


def vary(res, field):
    """Add `field` to the Vary header, once."""
    current = res.get_header("Vary")
    fields = [f.strip() for f in (current or "").split(",") if f.strip()]
    if field.lower() not in (f.lower() for f in fields):
        res.set_header("Vary", ", ".join([*fields, field]))
