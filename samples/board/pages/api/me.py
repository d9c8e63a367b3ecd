"""GET /api/me: the name this visitor last posted with (from their session), or null."""


def get(req, res):
    return {"name": req.session.get("name")}
