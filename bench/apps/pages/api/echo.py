"""C: POST /api/echo -> the JSON body, parsed and sent back."""


def post(req, res):
    return req.body
