"""FastAPI (pydantic v2), an ASGI app: workload Ct typed, and the untyped echo for the same body.

- POST /api/typed: an `async def` endpoint, body and `response_model` the pydantic Item
  (FastAPI's fastest form: no thread pool);
- POST /api/typed-sync: the same as a plain `def`, which FastAPI runs in its thread pool;
- POST /api/echo: `async def`, the parsed JSON body returned as is (untyped).

The docs routes are off (`openapi_url=None`), so the router holds only these three. FastAPI's
JSON is already compact (no spaces, UTF-8), byte for byte what nextapi and benchdata.dumps send.
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Request
from pydantic import BaseModel, Field


class Item(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    price: Annotated[float, Field(ge=0)]
    quantity: Annotated[int, Field(ge=1, le=1000)]


app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.post("/api/typed", response_model=Item)
async def typed(body: Item) -> Any:
    return body


@app.post("/api/typed-sync", response_model=Item)
def typed_sync(body: Item) -> Any:
    return body


@app.post("/api/echo")
async def echo(request: Request) -> Any:
    return await request.json()
