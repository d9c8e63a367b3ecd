"""GET /api/comments/<id>: the comments of post <id> (the Next.js article's
`pages/api/comments/[id].js`, which answers `{post: req.query.id, comments}`).

The id is the post's id, taken from the file name `[id]`, and comes back as the
string it was in the URL. comments.json holds the comments of one post, so
every id answers the same list; a real app would look the post up (and answer
404 for an unknown one). `get` is a method function: HEAD and OPTIONS are
answered for it, and any other method is a 405 with `Allow: GET, HEAD, OPTIONS`.
"""
import json
import os

_FILE = os.path.join(os.path.dirname(__file__), "..", "comments.json")


def get(req, res):
    with open(_FILE, encoding="utf-8") as f:
        comments = json.load(f)
    return {"post": req.query["id"], "comments": comments}
