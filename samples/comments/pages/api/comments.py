"""GET /api/comments: the seed list; any other method is a 405, Next.js style."""
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
