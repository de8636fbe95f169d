"""Input classes shared by the receiving flow and `runinput send --model`."""

from __future__ import annotations

import pydantic
from prefect.input import RunInput


class NumberData(RunInput):
    """A Prefect RunInput: stored under `numberdata-auto`."""

    number: int
    label: str = "none"


class Point(pydantic.BaseModel):
    """A plain pydantic model: stored as `PointRunInput`, `pointruninput-auto`."""

    x: int
    y: int
