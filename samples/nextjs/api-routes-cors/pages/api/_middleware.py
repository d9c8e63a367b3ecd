"""Initializing the cors middleware, for every route under api/ (here, /api/cors).

In Next.js the route runs the Express middleware itself, through a
`runMiddleware` helper that wraps it in a Promise. In nextapi an async
`_middleware.py` is awaited before the route: `await next()` runs it, and
answering the preflight without calling `next()` stops the chain.
"""
from ._cors import Cors

middleware = Cors(methods=["POST", "GET", "HEAD"])
