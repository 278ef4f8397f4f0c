"""A TCP relay in front of the store that holds back the end of every part upload.

It plays a store still writing a part when the client has given up on it: the head of a
part request and the first bytes of its body go through at once (the store checks that
the upload exists and starts reading), the rest follows ``hold_seconds`` after the whole
body has arrived here, even when the client has closed its connection meanwhile.
Everything else passes straight through.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

CHUNK = 64 * 1024
UPLOAD_ID = re.compile(rb"[?&]uploadId=([^&\s]+)")
CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


class LatePartsRelay:
    def __init__(self, upstream_port: int, hold_seconds: float) -> None:
        self.upstream_port = upstream_port
        self.hold_seconds = hold_seconds
        self.upload_ids: set[str] = set()
        self.part_received = asyncio.Event()  # a whole part body is held here
        self.parts_landed = 0  # held parts the store has answered
        self.events: list[str] = []  # "part landed" and "abort" in the order they happened
        self._relays: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def settled(self) -> None:
        """Wait until every relayed connection has ended."""
        while self._relays:
            await asyncio.gather(*list(self._relays), return_exceptions=True)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[LatePartsRelay]:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        try:
            yield self
        finally:
            self._server.close()
            await self.settled()

    async def _accept(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._relays.add(task)
        store_in, store_out = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        answers = asyncio.create_task(_pipe(store_in, client_out))
        try:
            while True:  # one request after another on a kept-alive connection
                head = await _read_head(client_in)
                if not head:
                    break
                request_line = head.split(b"\r\n", 1)[0]
                if request_line.startswith(b"DELETE ") and b"uploadId=" in request_line:
                    self.events.append("abort")
                store_out.write(head)
                await store_out.drain()
                if b"partNumber=" in request_line:
                    await self._hold_part(head, client_in, store_out)
                    await asyncio.wait_for(asyncio.shield(answers), timeout=30)
                    self.parts_landed += 1
                    self.events.append("part landed")
                    break  # the store answered the part; the relay ends with it
                await _copy_body(head, client_in, store_out)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            answers.cancel()
            store_out.close()
            client_out.close()
            self._relays.discard(task)

    async def _hold_part(
        self, head: bytes, client_in: asyncio.StreamReader, store_out: asyncio.StreamWriter
    ) -> None:
        if found := UPLOAD_ID.search(head):
            self.upload_ids.add(found.group(1).decode())
        length = _content_length(head)
        first = await client_in.read(min(CHUNK, length))
        store_out.write(first)  # the store is now reading this part
        await store_out.drain()
        rest = await client_in.readexactly(length - len(first))
        self.part_received.set()
        await asyncio.sleep(self.hold_seconds)  # the client may give up meanwhile
        store_out.write(rest)
        store_out.write_eof()  # the store closes the connection after its answer
        await store_out.drain()


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    with contextlib.suppress(asyncio.IncompleteReadError):
        return await reader.readuntil(b"\r\n\r\n")
    return b""


def _content_length(head: bytes) -> int:
    found = CONTENT_LENGTH.search(head)
    return int(found.group(1)) if found else 0


async def _copy_body(
    head: bytes, source: asyncio.StreamReader, target: asyncio.StreamWriter
) -> None:
    left = _content_length(head)
    while left:
        data = await source.read(min(CHUNK, left))
        if not data:
            raise ConnectionError("the client went away mid-body")
        target.write(data)
        left -= len(data)
    await target.drain()


async def _pipe(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
    """Relay until the source ends; a target gone keeps it reading (the store's answer
    is awaited even when nobody is left to hear it)."""
    alive = True
    while data := await source.read(CHUNK):
        if alive:
            try:
                target.write(data)
                await target.drain()
            except ConnectionError:
                alive = False
