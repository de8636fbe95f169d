"""
Input handlers: read a flow run's inputs under a key prefix, oldest first.

The filter endpoint has no cursor. The only way to skip inputs already read
is to list their keys in `exclude_keys`, which the server turns into a SQL
`NOT IN`. runinput requests `BATCH_SIZE` inputs per request instead of one,
so N inputs cost about N / BATCH_SIZE requests. Because databases cap the
parameters of one query (32,766 on SQLite, 32,767 on PostgreSQL with
asyncpg), a prefix whose exclude list passes `SPLIT_THRESHOLD` keys is split
into narrower prefixes (`…-0`, `…-1`, … `…-f` after the keys' common part),
each with its own, shorter exclude list. The results are merged by creation
time, so the order stays oldest first.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar, Union, cast
from uuid import UUID

import anyio
import pydantic
from typing_extensions import Self

from ._dispatch import in_async_context
from .client import AsyncClient, shared_client
from .context import ensure_flow_run_id
from .errors import InputTimeoutError
from .models import FlowRunInput

if TYPE_CHECKING:
    from .run_input import AutomaticRunInput, BaseRunInput, RunInput

logger = logging.getLogger(__name__)

R = TypeVar("R", bound="RunInput")
T = TypeVar("T")

# Each request costs the server a scan and sort of the run's inputs under the
# prefix plus a check against every excluded key, so fewer, larger batches
# are cheaper: reading 5,000 inputs took 2 requests at 5,000 against 11 at 500.
BATCH_SIZE = 5_000
SPLIT_THRESHOLD = 5_000
_KEY_ALPHABET = "0123456789abcdef-"


@dataclass
class _Partition:
    """Inputs under one key prefix: the keys already fetched and those not yet read."""

    prefix: str
    seen: set[str] = field(default_factory=set)
    buffer: deque[FlowRunInput] = field(default_factory=deque)
    drained: bool = False
    """Whether the last fetch returned fewer inputs than it asked for."""


@dataclass(frozen=True)
class FetchRequest:
    """One filter request: a key prefix and the keys to leave out."""

    key_prefix: str
    exclude_keys: list[str]
    limit: int = BATCH_SIZE


class InputFeed:
    """The inputs under a key prefix in creation order, fetched in batches.

    It does no I/O: `fetch_requests()` lists the requests to send and
    `accept()` takes the responses, so the sync and async handlers share it.
    """

    def __init__(self, key_prefix: str, exclude_keys: Iterable[str] = ()) -> None:
        self.key_prefix = key_prefix
        self._partitions = [_Partition(key_prefix, seen=set(exclude_keys))]

    @property
    def partition_count(self) -> int:
        return len(self._partitions)

    def fetch_requests(self) -> list[FetchRequest]:
        """List the requests to send next.

        While some empty partition was not drained, only those are refilled,
        because a flow run split into many partitions would otherwise poll
        every drained one again on each refill. Once all are drained, every
        empty partition is polled for new inputs.
        """
        empty = self._empty_partitions()
        pending = [partition for partition in empty if not partition.drained]
        return [
            FetchRequest(partition.prefix, sorted(partition.seen))
            for partition in pending or empty
        ]

    def refill_polls_all(self) -> bool:
        """Return whether the next requests cover every empty partition."""
        drained = [partition.drained for partition in self._empty_partitions()]
        return all(drained) or not any(drained)

    def _empty_partitions(self) -> list[_Partition]:
        return [partition for partition in self._partitions if not partition.buffer]

    def accept(self, request: FetchRequest, inputs: list[FlowRunInput]) -> None:
        """Store the inputs that the server returned for `request`."""
        partition = next(p for p in self._partitions if p.prefix == request.key_prefix)
        partition.drained = len(inputs) < request.limit
        for flow_run_input in inputs:
            if flow_run_input.key in partition.seen:
                continue
            partition.seen.add(flow_run_input.key)
            # The server matches prefixes with SQL LIKE, where `_` and `%` are
            # wildcards and SQLite ignores case, so it can return other keys.
            if flow_run_input.key.startswith(partition.prefix):
                partition.buffer.append(flow_run_input)
        if len(partition.seen) > SPLIT_THRESHOLD:
            self._split(partition)

    def pop(self) -> FlowRunInput | None:
        """The oldest unread input, or None when a fetch must come first.

        A partition that is empty but was not drained may hold older inputs,
        so nothing is returned until it has been refilled.
        """
        if self.needs_fetch():
            return None
        filled = [p for p in self._partitions if p.buffer]
        if not filled:
            return None
        oldest = min(filled, key=lambda p: _created_order(p.buffer[0]))
        return oldest.buffer.popleft()

    def needs_fetch(self) -> bool:
        """Whether some partition may hold inputs that were not fetched yet."""
        return any(not p.buffer and not p.drained for p in self._partitions)

    def _split(self, partition: _Partition) -> None:
        # NOTE: after a split, a key under the handler's prefix that does not
        # start with the common part of the keys seen so far is not found.
        # Prefect writes `{prefix}-{uuid4}` keys, which always do.
        common = _common_prefix(partition.seen, partition.prefix)
        alphabet = set(_KEY_ALPHABET)
        alphabet.update(
            key[len(common)] for key in partition.seen if len(key) > len(common)
        )
        children = [_Partition(common + char) for char in sorted(alphabet)]
        for child in children:
            lowered = child.prefix.lower()
            child.seen = {k for k in partition.seen if k.lower().startswith(lowered)}
            child.buffer = deque(
                item for item in partition.buffer if item.key.startswith(child.prefix)
            )
            child.drained = partition.drained
        index = self._partitions.index(partition)
        self._partitions[index : index + 1] = children
        logger.debug(
            "split key prefix %r into %d prefixes after %d keys",
            partition.prefix,
            len(children),
            len(partition.seen),
        )


def _created_order(flow_run_input: FlowRunInput) -> float:
    created = flow_run_input.created
    return created.timestamp() if created is not None else float("-inf")


def _common_prefix(keys: set[str], at_least: str) -> str:
    shortest, longest = min(keys), max(keys)
    length = len(at_least)
    while (
        length < len(shortest)
        and length < len(longest)
        and shortest[length] == longest[length]
    ):
        length += 1
    return shortest[:length] if len(shortest) >= len(at_least) else at_least


_Step = list[FetchRequest] | float
_Wait = Generator[_Step, list[list[FlowRunInput]] | None, Any]


Item = TypeVar("Item")


class _BaseInputHandler(Generic[Item]):
    """The reading loop shared by both handlers, written once for sync and async.

    `Item` is what iterating yields: RunInput instances, or plain values.
    """

    def __init__(
        self,
        run_input_cls: type[BaseRunInput],
        key_prefix: str,
        timeout: float | None = 3600,
        poll_interval: float = 10,
        raise_timeout_error: bool = False,
        exclude_keys: set[str] | None = None,
        flow_run_id: UUID | None = None,
    ) -> None:
        self.run_input_cls = run_input_cls
        self.key_prefix = key_prefix
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.raise_timeout_error = raise_timeout_error
        self.exclude_keys: set[str] = set(exclude_keys or ())
        """The keys delivered so far, plus those given to skip."""
        self.flow_run_id: UUID = ensure_flow_run_id(flow_run_id)
        self._feed = InputFeed(key_prefix, self.exclude_keys)

    def __iter__(self) -> Self:
        return self

    def __aiter__(self) -> Self:
        return self

    def __next__(self) -> Item:
        try:
            return cast(Item, self._next_sync())
        except TimeoutError:
            if self.raise_timeout_error:
                raise
            raise StopIteration from None

    async def __anext__(self) -> Item:
        try:
            return await self.anext()
        except TimeoutError:
            if self.raise_timeout_error:
                raise
            raise StopAsyncIteration from None

    def next(self) -> Item:
        """Wait for the next input; inside async code, return an awaitable."""
        if in_async_context():
            return cast(Item, self.anext())
        return cast(Item, self._next_sync())

    async def anext(self) -> Item:
        """Wait for the next input."""
        return cast(Item, await self._next_async())

    def to_instance(self, flow_run_input: FlowRunInput) -> Any:
        """Build the item that the handler yields from one stored input."""
        return self.run_input_cls.load_from_flow_run_input(flow_run_input)

    def _next_sync(self) -> Any:
        return self._drive_sync(self._wait_for_next())

    async def _next_async(self) -> Any:
        return await self._drive_async(self._wait_for_next())

    def filter_for_inputs_sync(self) -> list[FlowRunInput]:
        """Fetch the inputs not read yet, mark them read and return them."""
        return cast(list[FlowRunInput], self._drive_sync(self._fetch_unread()))

    async def filter_for_inputs(self) -> list[FlowRunInput]:
        """Fetch the inputs not read yet, mark them read and return them."""
        return cast(list[FlowRunInput], await self._drive_async(self._fetch_unread()))

    def _fetch_unread(self) -> _Wait:
        yield from self._fetch()
        unread = []
        while (flow_run_input := self._feed.pop()) is not None:
            self.exclude_keys.add(flow_run_input.key)
            unread.append(flow_run_input)
        return unread

    def _wait_for_next(self) -> _Wait:
        started = time.monotonic()
        polled = False
        while True:
            if self._feed.needs_fetch():
                # Only a fetch that covers every empty partition counts as
                # this call's poll for new inputs.
                polled = polled or self._feed.refill_polls_all()
                yield from self._fetch()
                continue
            item = self._deliver_next()
            if item is not _NOTHING:
                return item
            if not polled:
                yield from self._fetch()
                polled = True
                continue
            elapsed = time.monotonic() - started
            if self.timeout is not None and elapsed >= self.timeout:
                raise InputTimeoutError(
                    f"no input with key prefix {self.key_prefix!r} arrived on flow "
                    f"run {self.flow_run_id} within {self.timeout:g} s"
                )
            wait = self.poll_interval
            if self.timeout is not None:
                wait = min(wait, self.timeout - elapsed)
            yield float(max(wait, 0.0))
            polled = False

    def _fetch(self) -> Generator[_Step, list[list[FlowRunInput]] | None, None]:
        requests = self._feed.fetch_requests()
        if not requests:
            return
        answers = yield requests
        assert answers is not None
        for request, inputs in zip(requests, answers, strict=True):
            self._feed.accept(request, inputs)

    def _deliver_next(self) -> Any:
        while (flow_run_input := self._feed.pop()) is not None:
            self.exclude_keys.add(flow_run_input.key)
            try:
                return self.to_instance(flow_run_input)
            except (ValueError, TypeError, pydantic.ValidationError) as exc:
                logger.warning(
                    "skipped input %r on flow run %s: %s",
                    flow_run_input.key,
                    flow_run_input.flow_run_id,
                    _describe_invalid(exc),
                )
        return _NOTHING

    def _drive_sync(self, steps: _Wait) -> Any:
        answer: list[list[FlowRunInput]] | None = None
        try:
            while True:
                step = steps.send(answer)
                if isinstance(step, float):
                    time.sleep(step)
                    answer = None
                    continue
                # Looked up only when a fetch is due, because most calls are
                # served from the buffer and resolving the settings reads the
                # profile file.
                client = shared_client()
                answer = [
                    client.filter_flow_run_input(
                        self.flow_run_id, r.key_prefix, r.limit, r.exclude_keys
                    )
                    for r in step
                ]
        except StopIteration as stop:
            return stop.value

    async def _drive_async(self, steps: _Wait) -> Any:
        answer: list[list[FlowRunInput]] | None = None
        client: AsyncClient | None = None
        try:
            while True:
                step = steps.send(answer)
                if isinstance(step, float):
                    await anyio.sleep(step)
                    answer = None
                    continue
                # Opened only when a fetch is due, because most calls are
                # served from the buffer, and opening a client resolves the
                # settings and starts a new connection pool.
                if client is None:
                    client = AsyncClient()
                answer = [
                    await client.filter_flow_run_input(
                        self.flow_run_id, r.key_prefix, r.limit, r.exclude_keys
                    )
                    for r in step
                ]
        except StopIteration as stop:
            return stop.value
        finally:
            if client is not None:
                await client.aclose()


_NOTHING: Any = object()


def _describe_invalid(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"the stored value is not valid JSON ({exc.msg})"
    if isinstance(exc, pydantic.ValidationError):
        return f"the stored value does not fit the model ({exc.error_count()} errors)"
    return f"the stored value does not fit the model ({exc})"


class GetInputHandler(_BaseInputHandler[R]):
    """Iterates over RunInput instances sent to a flow run, oldest first."""

    run_input_cls: type[R]

    def __init__(
        self,
        run_input_cls: type[R],
        key_prefix: str,
        timeout: float | None = 3600,
        poll_interval: float = 10,
        raise_timeout_error: bool = False,
        exclude_keys: set[str] | None = None,
        flow_run_id: UUID | None = None,
    ) -> None:
        super().__init__(
            run_input_cls,
            key_prefix,
            timeout,
            poll_interval,
            raise_timeout_error,
            exclude_keys,
            flow_run_id,
        )

    def to_instance(self, flow_run_input: FlowRunInput) -> R:
        """Build a RunInput instance from one stored input."""
        return self.run_input_cls.load_from_flow_run_input(flow_run_input)


class GetAutomaticInputHandler(_BaseInputHandler[Union[T, "AutomaticRunInput[T]"]]):
    """Iterates over plain values sent to a flow run, oldest first."""

    run_input_cls: type[AutomaticRunInput[T]]

    def __init__(
        self,
        run_input_cls: type[AutomaticRunInput[T]],
        key_prefix: str,
        timeout: float | None = 3600,
        poll_interval: float = 10,
        raise_timeout_error: bool = False,
        exclude_keys: set[str] | None = None,
        flow_run_id: UUID | None = None,
        with_metadata: bool = False,
    ) -> None:
        super().__init__(
            run_input_cls,
            key_prefix,
            timeout,
            poll_interval,
            raise_timeout_error,
            exclude_keys,
            flow_run_id,
        )
        self.with_metadata = with_metadata

    def to_instance(self, flow_run_input: FlowRunInput) -> T | AutomaticRunInput[T]:
        """The stored value, or its AutomaticRunInput when `with_metadata` is set."""
        run_input = self.run_input_cls.load_from_flow_run_input(flow_run_input)
        if self.with_metadata:
            return run_input
        return run_input.value
