"""GET /api/comments: the newest comments first. POST /api/comments: add one from JSON {"text": ...}."""
import board_db

from nextapi import HTTPError

MAX_TEXT = 500


def get(req, res):
    with board_db.connect() as db:
        return board_db.list_comments(db)


def post(req, res):
    media_type = req.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":  # also keeps cross-site HTML forms out (they cannot send JSON)
        raise HTTPError(415, "Send JSON with Content-Type: application/json")
    body = req.body
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise HTTPError(400, "text is required")
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise HTTPError(400, f"text is too long: {len(text)} characters, at most {MAX_TEXT}")
    with board_db.connect() as db:
        comment = board_db.add_comment(db, text)
    res.status(201).set_header("Location", f"/api/comments/{comment['id']}")
    return comment
