"""A (async def): GET /api/comments -> the seed's comment list."""
from benchdata import COMMENTS


async def get(req, res):
    return COMMENTS
