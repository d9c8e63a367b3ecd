"""GET /api/comments: the newest comments first. POST /api/comments: add one from JSON
{"text": ..., "name": ...}; the name is optional, remembered in the visitor's session, and
used when a later post leaves it out (an empty name posts anonymously and forgets it).
With an `Idempotency-Key` header a POST is done once: sent again with the same key and body it
gets the first answer (and `Idempotent-Replayed: true`), with another body a 422 (board_db)."""
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
    key = board_db.idempotency_key(req.headers.get("idempotency-key"))  # None without one; 400 if malformed
    name = _name(req, body)
    with board_db.connect() as db:
        if key is None:
            status, comment = 201, board_db.add_comment(db, text, name)
        else:  # exactly once: a retry with the same key gets the first answer (422 for another body)
            status, comment, replayed = board_db.add_comment_once(db, text, name, key, board_db.fingerprint(body))
            if replayed:
                res.set_header("Idempotent-Replayed", "true")
    res.status(status).set_header("Location", f"/api/comments/{comment['id']}")
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
