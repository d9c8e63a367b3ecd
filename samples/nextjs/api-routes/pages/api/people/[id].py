"""GET /api/people/<id>: one person, or a 404 (pages/api/people/[id].ts in the Next.js example)."""
from .._data import people


async def handler(req, res):
    query = req.query
    id = query["id"]
    filtered = [p for p in people if p["id"] == id]

    # User with id exists
    return (
        res.status(200).json(filtered[0])
        if filtered
        else res.status(404).json({"message": f"User with id: {id} not found."})
    )
