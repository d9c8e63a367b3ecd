"""The smallest route: return a value and it is sent as JSON."""


def handler(req, res):
    return {"hello": req.query.get("name", "world")}
