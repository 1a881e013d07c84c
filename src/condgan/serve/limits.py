"""What `condgan serve` promises under load: at most `max_connections` requests served at once,
the excess waiting briefly and then refused with 503 + Retry-After; idle and half-open
connections closed; a bounded graceful shutdown.

uvicorn's own `limit_concurrency` counts open sockets (idle keep-alive and half-sent ones
included, the request's own too), so at the limit nearly every request got a 503, and a few
dozen slowloris sockets refused everyone. Here the count is of requests being served, and
sockets that hold no request are closed by timers instead.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

RETRY_AFTER_S = 1
# sockets beyond this are refused by uvicorn itself: a bound on file descriptors, not the limit users see
MAX_SOCKETS = 1000


class Admission:
    """ASGI middleware: `limit` requests in service; up to `limit` more wait `wait_s` for a slot."""

    def __init__(self, app: Any, limit: int, wait_s: float, exempt: tuple[str, ...] = ("/healthz",)) -> None:
        self.app, self.limit, self.wait_s, self.exempt = app, limit, wait_s, exempt
        self.in_service = 0
        self.waiting = 0
        self._free: asyncio.Condition | None = None  # made in the server's loop, on first use

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        if not await self._enter():
            await _refuse(send, f"the server is at its limit of {self.limit} requests at once; retry shortly")
            return
        try:
            await self.app(scope, receive, send)
        finally:
            await self._leave()

    async def _enter(self) -> bool:
        if self._free is None:
            self._free = asyncio.Condition()
        async with self._free:
            if self.in_service < self.limit:
                self.in_service += 1
                return True
            if self.waiting >= self.limit or self.wait_s <= 0:
                return False
            self.waiting += 1
            try:
                await asyncio.wait_for(self._free.wait_for(lambda: self.in_service < self.limit), self.wait_s)
            except (TimeoutError, asyncio.TimeoutError):  # distinct classes before Python 3.11
                return False
            finally:
                self.waiting -= 1
            self.in_service += 1
            return True

    async def _leave(self) -> None:
        assert self._free is not None
        async with self._free:
            self.in_service -= 1
            self._free.notify()


async def _refuse(send: Any, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(RETRY_AFTER_S).encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def timed_protocol(header_timeout_s: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing a socket that has not sent a whole request header within
    `header_timeout_s` of connecting or of its first byte after a response (slowloris, idle
    sockets that never send). Idle keep-alive sockets are closed by uvicorn's own keep-alive timer."""

    class HeaderTimedH11(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._header_timer is None and not self._serving():
                self._arm()  # a new request begins: its header has the whole timeout, not per byte
            super().data_received(data)
            if self._serving():
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _serving(self) -> bool:
            return self.cycle is not None and not self.cycle.response_complete

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(header_timeout_s, self._expired)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _expired(self) -> None:
            self._header_timer = None
            if not self._serving() and not self.transport.is_closing():
                self.transport.close()

    return HeaderTimedH11
