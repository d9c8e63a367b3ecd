"""GET /api/comments/<id>: one comment. DELETE /api/comments/<id>: remove it (204)."""
import board_db

from nextapi import HTTPError, operation

from .._types import Comment


def _comment_id(req) -> int:
    raw = req.query["id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise HTTPError(404, "Comment not found")
    return int(raw)


@operation(responses={404: "Comment not found"})
def get(req, res) -> Comment:
    """One comment."""
    with board_db.connect() as db:
        comment = board_db.get_comment(db, _comment_id(req))
    if comment is None:
        raise HTTPError(404, "Comment not found")
    return comment


@operation(responses={204: "Deleted", 404: "Comment not found"})
def delete(req, res) -> None:
    """Remove a comment."""
    with board_db.connect() as db:
        deleted = board_db.delete_comment(db, _comment_id(req))
    if not deleted:
        raise HTTPError(404, "Comment not found")
    res.status(204).end()
