"""Running one RACP procedure over a :class:`~drivers.transports.ble.BleLink`.

The collector procedure shared by the three profiles (CGMP 1.0.1 section 4.9, GLP 1.0
section 4.10, Tidepool's IDS client): subscribe to the data characteristics *before*
the control point, write one request, hand every data notification to the decoder as
it arrives, and finish on the single RACP indication that answers the request. Only
one procedure is outstanding at a time. Silence longer than the response timeout sends
Abort and raises a retryable ``TransportError``; a link that drops raises one at once.

This is the family's shared I/O helper; the per-profile ``session.py`` files decide
what to request and what to do with the records.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from drivers._core.errors import DriverError, ProtocolError, TransportError
from drivers.ble import racp
from drivers.transports.ble import BleLink


@dataclass(frozen=True, slots=True)
class ControlPoint:
    """Where a profile's RACP lives and which dialect it speaks."""

    uuid: str
    dialect: racp.Dialect
    data_uuids: tuple[str, ...]


class RacpChannel:
    """Subscriptions and the indication queue for one connection."""

    def __init__(self, link: BleLink, cp: ControlPoint) -> None:
        self.link = link
        self.cp = cp
        self._queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()

    async def open(self, optional: Sequence[str] = ()) -> None:
        """Subscribe data characteristics first (``optional`` ones only if present), then
        the control point, the order servers require (protocols.md section 3.7)."""
        for uuid in self.cp.data_uuids:
            if uuid in optional and not self.link.has(uuid):
                continue
            await self.link.subscribe(uuid, self._on_value)
        await self.link.subscribe(self.cp.uuid, self._on_value)

    def _on_value(self, uuid: str, value: bytes) -> None:
        self._queue.put_nowait((uuid, value))

    async def _next(self, timeout_s: float) -> tuple[str, bytes]:
        getter = asyncio.ensure_future(self._queue.get())
        lost = asyncio.ensure_future(self.link.disconnected.wait())
        try:
            done, _ = await asyncio.wait(
                {getter, lost}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in (getter, lost):
                if not task.done():
                    task.cancel()
        if getter in done:
            return getter.result()
        if lost in done:
            raise TransportError("link lost during a record transfer")
        raise TimeoutError

    async def run(
        self,
        request: racp.Request,
        on_data: Callable[[str, bytes], None],
        *,
        timeout_s: float,
    ) -> racp.Response:
        """Write ``request`` and pump notifications into ``on_data`` until its answer.

        Returns the :class:`~drivers.ble.racp.NumberResponse` or
        :class:`~drivers.ble.racp.CodeResponse` that ends the procedure. A
        ``ProtocolError`` from ``on_data`` (bad CRC, malformed record) aborts the
        procedure on the device before it propagates.
        """
        if request.op not in racp.READ_ONLY_OPS:
            raise ProtocolError("read-only driver refuses RACP op", op=request.op.value)
        while not self._queue.empty():  # stale values from an earlier procedure
            self._queue.get_nowait()
        await self.link.write(self.cp.uuid, racp.encode_request(request, self.cp.dialect))
        while True:
            try:
                uuid, value = await self._next(timeout_s)
            except TimeoutError:
                await self._abort(timeout_s)
                raise TransportError("no answer from the device", timeout_s=timeout_s) from None
            if uuid != self.cp.uuid:
                try:
                    on_data(uuid, value)
                except ProtocolError:
                    await self._abort(timeout_s)
                    raise
                continue
            response = racp.decode_response(value, self.cp.dialect)
            if isinstance(response, racp.CodeResponse) and response.request is not request.op:
                raise ProtocolError(
                    "RACP answered another request",
                    expected=request.op.value,
                    got=response.request.value,
                )
            return response

    async def _abort(self, timeout_s: float) -> None:
        """Best effort Abort (``03 00`` in GLS/CGMS) so the device stops sending."""
        with contextlib.suppress(DriverError, TimeoutError):
            if self.link.is_connected:
                await self.link.write(
                    self.cp.uuid, racp.encode_request(racp.ABORT, self.cp.dialect)
                )
                await asyncio.wait_for(self._queue.get(), timeout=min(timeout_s, 2.0))


def expect_done(response: racp.Response) -> bool:
    """True for Success, False for "no records found"; any other result raises.

    Raises:
        ProtocolError: the device answered e.g. "procedure not completed" (retryable) or
            "operand not supported".
    """
    if isinstance(response, racp.NumberResponse):
        raise ProtocolError("RACP answered a report with a record count")
    if response.result is racp.Result.SUCCESS:
        return True
    if response.result is racp.Result.NO_RECORDS:
        return False
    raise ProtocolError(
        "the device could not complete the record transfer",
        result=response.result.value,
        retryable=response.result is racp.Result.NOT_COMPLETED,
    )
