"""C (async def): POST /api/echo -> the JSON body, parsed and sent back."""


async def post(req, res):
    return req.body
