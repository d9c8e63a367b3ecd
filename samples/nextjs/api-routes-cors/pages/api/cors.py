"""/api/cors: the route behind the CORS middleware (pages/api/cors.ts in the Next.js example).

The middleware in `_middleware.py` has already run: it put the CORS headers on
this answer, or answered a preflight itself.
"""


async def handler(req, res):
    # Rest of the API logic
    res.json({"message": "Hello Everyone!"})
