"""A TCP relay on 127.0.0.1 that delays every byte by a fixed time each way.

The benchmark's Prefect server runs on loopback, where a request's network
round trip costs well under a millisecond, so a sequential loop of requests
already keeps the server busy. A server in another data centre or a hosted
one is tens of milliseconds away, and there a sequential loop spends most of
its time waiting for the network. Sending the loop's requests through this
relay shows that case against the same real server.

The relay adds latency, not a bandwidth limit: each chunk read on one side
is written to the other side `delay` seconds after it arrived, and chunks
keep their order. The relay runs its own event loop in a daemon thread.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from urllib.parse import urlsplit, urlunsplit

CHUNK_SIZE = 65_536
START_TIMEOUT = 10.0
"""Seconds to wait for the relay's listening socket."""


class DelayRelay:
    """Forwards connections from a local port to `upstream_url`'s host and port."""

    def __init__(self, upstream_url: str, delay: float) -> None:
        parts = urlsplit(upstream_url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"{upstream_url!r} has no host and port to relay to")
        self.upstream_url = upstream_url
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port
        self.delay = delay
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """`upstream_url` with its host and port replaced by the relay's."""
        assert self.port is not None, "the relay is not started"
        parts = urlsplit(self.upstream_url)
        return urlunsplit(parts._replace(netloc=f"127.0.0.1:{self.port}"))

    def __enter__(self) -> DelayRelay:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise RuntimeError(f"the relay did not start in {START_TIMEOUT:g} s")
        if self._error is not None:
            raise RuntimeError("the relay failed to start") from self._error
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(START_TIMEOUT)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stopped.wait()

    async def _relay(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                self.upstream_host, self.upstream_port
            )
        except OSError as exc:
            upstream = f"{self.upstream_host}:{self.upstream_port}"
            print(f"relay: connecting to {upstream} failed: {exc}", file=sys.stderr)
            client_writer.close()
            return
        try:
            await asyncio.gather(
                self._forward(client_reader, upstream_writer),
                self._forward(upstream_reader, client_writer),
            )
        except asyncio.CancelledError:
            # The relay is stopping while this connection is still open. The
            # handler ends normally, so that asyncio logs no cancelled task.
            client_writer.close()
            upstream_writer.close()

    async def _forward(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Copy `reader` to `writer`, writing each chunk `delay` s after its arrival."""
        loop = asyncio.get_running_loop()
        # Each item is a chunk and the loop time to write it at. A chunk of
        # None marks the end of the stream.
        queue: asyncio.Queue[tuple[float, bytes | None]] = asyncio.Queue()

        async def read() -> None:
            try:
                while chunk := await reader.read(CHUNK_SIZE):
                    queue.put_nowait((loop.time() + self.delay, chunk))
            except OSError:
                pass
            queue.put_nowait((loop.time() + self.delay, None))

        async def write() -> None:
            try:
                while True:
                    due, chunk = await queue.get()
                    await asyncio.sleep(max(0.0, due - loop.time()))
                    if chunk is None:
                        break
                    writer.write(chunk)
                    await writer.drain()
            except OSError:
                pass
            finally:
                writer.close()

        await asyncio.gather(read(), write())
