"""GET /api/comments/<id>: the comments of one post, with the id from the path."""
import json
import os

_FILE = os.path.join(os.path.dirname(__file__), "..", "comments.json")


def get(req, res):
    with open(_FILE, encoding="utf-8") as f:
        comments = json.load(f)
    return {"post": req.query["id"], "comments": comments}
