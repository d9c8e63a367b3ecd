"""Workload Ct's body type for nextapi: a dataclass whose fields carry the constraints.

The same constraints as FastAPI's pydantic model in fastapi_app.py (and benchdata.TYPED).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from nextapi import Field


@dataclass
class Item:
    name: Annotated[str, Field(min_length=1, max_length=100)]
    price: Annotated[float, Field(ge=0)]
    quantity: Annotated[int, Field(ge=1, le=1000)]
