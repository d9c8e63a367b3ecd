"""GET /api/comments: the comments of the blog post, as JSON (the Next.js article's
`pages/api/comments.js`). One `handler` for every method, so it switches on
`req.method` itself: anything but GET is a 405 naming the allowed method.

comments.json is read on every request, so an edit shows without a restart.
It is never served itself: only `.py` files are routes.
"""
import json
import os

_FILE = os.path.join(os.path.dirname(__file__), "comments.json")


def load_comments():
    with open(_FILE, encoding="utf-8") as f:
        return json.load(f)


def handler(req, res):
    if req.method == "GET":
        res.status(200).json(load_comments())
    else:
        res.set_header("Allow", "GET")
        res.status(405).json({"error": f"Method {req.method} Not Allowed"})
