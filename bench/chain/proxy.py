"""A TCP relay in front of a broker that can be cut, as a store's internet line is.

The real edge that the fault run cuts off reaches each broker node through one of these.
``cut()`` closes every relayed connection and refuses new ones (the edge sees its link drop
and every broker of its list unreachable); ``restore()`` lets it connect again. No network
namespace or root needed, and the edge runs unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib

from bench.chain.brokers import free_port


class CuttableProxy:
    """Relay ``127.0.0.1:port`` → ``127.0.0.1:target`` on the caller's asyncio loop."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self.cut_off = False
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    async def start(self) -> CuttableProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_off:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    def cut(self) -> None:
        self.cut_off = True
        for w in list(self._writers):
            with contextlib.suppress(Exception):
                w.transport.abort()
        self._writers.clear()

    def restore(self) -> None:
        self.cut_off = False

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
