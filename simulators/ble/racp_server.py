"""Server side of a Record Access Control Point, with fault injection.

Stored records are ``(key, notifications)`` pairs: the key is what the filter compares
(CGMS time offset, GLS sequence number, IDD record number) and the notifications are the
``(uuid, value)`` octets sent for that record (a GLS measurement and its context are one
record). Answers strictly in order, as protocols.md section 3.7 asks: the data
notifications first, then one RACP indication; one procedure at a time. Delete is never
performed: it is answered "op code not supported" and logged as a violation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from bleak.exc import BleakGATTProtocolError, BleakGATTProtocolErrorCode

from drivers.ble import racp
from simulators.ble.gatt import VirtualPeripheral

StoredRecord = tuple[int, list[tuple[str, bytes]]]


class RacpServer:
    """Handles writes to one RACP characteristic of ``peripheral``.

    Args:
        peripheral: The peripheral that owns the control point.
        uuid: The control point's UUID.
        dialect: SIG (GLS/CGMS) or IDD values.
        records: Returns the stored records, oldest first, at the time of a request.
        filter_type: The only filter type accepted for <=, >=, within range.
        corrupt: Damages one record's notifications for the CRC fault.
    """

    def __init__(
        self,
        peripheral: VirtualPeripheral,
        uuid: str,
        dialect: racp.Dialect,
        records: Callable[[], Sequence[StoredRecord]],
        *,
        filter_type: int = 0x01,
        corrupt: Callable[[list[tuple[str, bytes]]], list[tuple[str, bytes]]] | None = None,
    ) -> None:
        self.p = peripheral
        self.uuid = uuid
        self.dialect = dialect
        self.records = records
        self.filter_type = filter_type
        self.corrupt = corrupt or _flip_last_octet
        self.requests: list[racp.Request] = []
        self._task: asyncio.Task[None] | None = None
        self._abort = False

    def _indicate(self, response: racp.Response) -> None:
        self.p.notify(self.uuid, racp.encode_response(response, self.dialect))

    async def on_write(self, data: bytes) -> None:
        """ATT write handler: validate, then run the procedure in the background."""
        if self.uuid not in self.p.subscribed:
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.CCCD_IMPROPERLY_CONFIGURED)
        try:
            request = racp.decode_request(data, self.dialect)
        except racp.RequestRefused as exc:
            op = exc.request or racp.Op.REPORT
            self._indicate(racp.CodeResponse(op, exc.result))
            return
        self.requests.append(request)
        if request.op is racp.Op.ABORT:
            self._abort = True
            self._indicate(racp.CodeResponse(racp.Op.ABORT, racp.Result.SUCCESS))
            return
        if self._task is not None and not self._task.done():
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.PROCEDURE_ALREADY_IN_PROGRESS)
        self._abort = False
        self._task = asyncio.get_running_loop().create_task(self._run(request))

    def _select(self, request: racp.Request) -> list[StoredRecord] | racp.Result:
        stored = list(self.records())
        op = request.operator
        if op is racp.Operator.ALL:
            return stored
        if op is racp.Operator.FIRST:
            return stored[:1]
        if op is racp.Operator.LAST:
            return stored[-1:]
        if request.filter_type != self.filter_type:
            return racp.Result.OPERAND_NOT_SUPPORTED
        if op is racp.Operator.GE and self.p.faults.ge_unsupported:
            return racp.Result.OPERATOR_NOT_SUPPORTED
        lo, hi = 0, 2**32
        if op is racp.Operator.GE:
            lo = request.values[0]
        elif op is racp.Operator.LE:
            hi = request.values[0]
        else:
            lo, hi = request.values
        return [r for r in stored if lo <= r[0] <= hi]

    async def _run(self, request: racp.Request) -> None:
        faults = self.p.faults
        if request.op is racp.Op.DELETE:
            self.p.violations.append("RACP delete requested")
            self._indicate(racp.CodeResponse(request.op, racp.Result.OP_NOT_SUPPORTED))
            return
        selected = self._select(request)
        if isinstance(selected, racp.Result):
            self._indicate(racp.CodeResponse(request.op, selected))
            return
        if request.op is racp.Op.REPORT_NUMBER:
            self._indicate(racp.NumberResponse(len(selected)))
            return
        if faults.not_completed > 0:
            faults.not_completed -= 1
            self._indicate(racp.CodeResponse(request.op, racp.Result.NOT_COMPLETED))
            return
        if not selected:
            self._indicate(racp.CodeResponse(request.op, racp.Result.NO_RECORDS))
            return
        await self._send(selected)
        if self.p.connection is not None and not self._abort:
            self._indicate(racp.CodeResponse(request.op, racp.Result.SUCCESS))

    async def _send(self, selected: list[StoredRecord]) -> None:
        faults = self.p.faults
        order = list(range(len(selected)))
        if faults.out_of_order:
            for i in range(0, len(order) - 1, 2):
                order[i], order[i + 1] = order[i + 1], order[i]
        corrupt_at = faults.corrupt_crc_at if faults.crc_errors > 0 else None
        if corrupt_at is not None:
            faults.crc_errors -= 1
        for sent, index in enumerate(order):
            if self._abort or self.p.connection is None:
                return
            if faults.disconnect_after == sent and faults.disconnects > 0:
                faults.disconnects -= 1
                self.p.drop_link()
                return
            notes = selected[index][1]
            if corrupt_at == sent:
                notes = self.corrupt(notes)
            for uuid, value in notes:
                self.p.notify(uuid, value)
            await asyncio.sleep(0)


def _flip_last_octet(notes: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    uuid, value = notes[0]
    return [(uuid, value[:-1] + bytes((value[-1] ^ 0xFF,))), *notes[1:]]
