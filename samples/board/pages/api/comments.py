"""GET /api/comments: the newest comments first. POST /api/comments: add one from JSON
{"text": ..., "name": ...}; the name is optional, remembered in the visitor's session, and
used when a later post leaves it out (an empty name posts anonymously and forgets it).
With an `Idempotency-Key` header a POST is done once: sent again with the same key and body it
gets the first answer (and `Idempotent-Replayed: true`), with another body a 422 (board_db)."""
import board_db

from nextapi import operation

from ._types import Comment, NewComment



def get(req, res) -> list[Comment]:
    """The newest comments first."""
    with board_db.connect() as db:
        return board_db.list_comments(db)


@operation(status=201, responses={400: "A malformed Idempotency-Key",
                                  422: "The text or the name is missing or too long, or the Idempotency-Key "
                                       "was used with another body",
                                  503: "The database is unavailable"})
def post(req, res, body: NewComment) -> Comment:
    """Add a comment (exactly once with an Idempotency-Key).

    The body is checked against NewComment before this runs (a 422 lists every problem), and a
    body that is not JSON is a 415, which also keeps cross-site HTML forms out.
    """
    text = body["text"].strip()  # a str of at most MAX_TEXT characters, not only spaces
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
    name = (body["name"] or "").strip()  # a str of at most MAX_NAME characters, or None
    if name:
        req.session["name"] = name
    else:
        req.session.pop("name", None)
    return name or None
