"""GET and PUT /api/user/<id>, 405 with Allow otherwise (pages/api/user/[id].ts in the Next.js example).

One `handler` that switches on `req.method`, as the original does. nextapi's own
way is a function per method (`async def get`, `async def put`), which answers
the 405 and its `Allow` header by itself.
"""
import re


def parse_int(text):
    """JavaScript's parseInt(text, 10): the leading integer, or None (NaN, which JSON writes as null)."""
    match = re.match(r"\s*([+-]?\d+)", text or "")
    return int(match.group(1)) if match else None


async def handler(req, res):
    query, method = req.query, req.method
    id = parse_int(query["id"])
    name = query.get("name")

    if method == "GET":
        # Get data from your database
        res.status(200).json({"id": id, "name": f"User {id}"})
    elif method == "PUT":
        # Update or create data in your database
        res.status(200).json({"id": id, "name": name or f"User {id}"})
    else:
        res.set_header("Allow", ["GET", "PUT"])
        res.status(405).end(f"Method {method} Not Allowed")
