"""Ct (async def): POST /api/typed -> the body validated into an Item, echoed back through its return annotation."""
from typeditem import Item


async def post(req, res, body: Item) -> Item:
    return body
