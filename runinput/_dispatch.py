"""How sync-named public methods behave when they are called from async code.

Prefect users write `await NumberData(...).send_to(id)` in async flows, and
sometimes forget the `await`. A method that changes state (`send_to`,
`respond`, `save`, `send_input`) therefore does its request before it
returns, in every context, and returns a `Done`: an awaitable that is already
finished. Awaiting it is optional, so a forgotten `await` loses nothing. The
price is that the one request blocks the event loop while it runs; the
`a`-prefixed twins do not block.

A method that reads (`next`, `load`) returns a coroutine of its async twin
when it is called inside running async code, so it must be awaited there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Done(Generic[T]):
    """The finished result of a sync-named call; awaiting it returns the value."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value

    def __await__(self) -> Generator[Any, None, T]:
        return self.value
        yield  # pragma: no cover - makes this a generator; never reached

    def __repr__(self) -> str:
        return f"Done({self.value!r})"


def in_async_context() -> bool:
    """Whether this thread is running an asyncio event loop right now."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
