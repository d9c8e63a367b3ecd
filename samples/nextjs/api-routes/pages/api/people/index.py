"""GET /api/people: everyone (pages/api/people/index.ts in the Next.js example)."""
from .._data import people


async def handler(_req, res):
    return res.status(200).json(people)
