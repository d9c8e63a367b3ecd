"""GET /api/comments: the newest comments first. POST /api/comments: add one from JSON
{"text": ..., "name": ...}; the name is optional, remembered in the visitor's session, and
used when a later post leaves it out (an empty name posts anonymously and forgets it)."""
import board_db

from nextapi import HTTPError

MAX_TEXT = 500
MAX_NAME = 40


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
    name = _name(req, body)
    with board_db.connect() as db:
        comment = board_db.add_comment(db, text, name)
    res.status(201).set_header("Location", f"/api/comments/{comment['id']}")
    return comment


def _name(req, body) -> str | None:
    """The author: the body's "name" (then remembered in the session), else the remembered one."""
    if "name" not in body:
        return req.session.get("name")
    name = body["name"]
    if name is not None and not isinstance(name, str):
        raise HTTPError(400, "name must be text")
    name = (name or "").strip()
    if len(name) > MAX_NAME:
        raise HTTPError(400, f"name is too long: {len(name)} characters, at most {MAX_NAME}")
    if name:
        req.session["name"] = name
    else:
        req.session.pop("name", None)
    return name or None
