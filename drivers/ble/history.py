"""The history read every profile shares: connect, prelude, RACP report, resume, batch.

A profile session subclasses :class:`RacpHistory` and fills in the hooks: what to read
before the transfer (``prelude``), where to start given a cursor (``start_key``), how to
decode a data notification into keyed items (``decode``) and how to turn the collected
items into records and the next cursor (``finish``).

Resume rule: when the link drops, a CRC fails or the device answers "procedure not
completed", the reader reconnects (with the transport's backoff) and asks again for
records ``>=`` the next key after the highest one already received, so nothing already
held is read twice. If the interrupted transfer delivered records out of order, a gap
may hide below that key, so it asks again from the original start instead and drops
the duplicates. Retries are bounded by ``BleOptions.attempts``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from drivers._core.capabilities import Cursor, HistoryBatch
from drivers._core.errors import DriverError
from drivers.ble import racp, uuids
from drivers.ble.procedure import ControlPoint, RacpChannel, expect_done
from drivers.transports.ble import BleLink, BleOptions

T = TypeVar("T")


@dataclass(slots=True)
class Identity:
    """Device Information Service strings (``None`` where the device has none)."""

    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None


async def read_identity(link: BleLink) -> Identity:
    """Read the Device Information strings that are present (UTF-8, NULs stripped)."""
    found = Identity()
    for attr, uuid in (
        ("manufacturer", uuids.MANUFACTURER_NAME),
        ("model", uuids.MODEL_NUMBER),
        ("serial", uuids.SERIAL_NUMBER),
        ("firmware", uuids.FIRMWARE_REVISION),
    ):
        if link.has(uuid):
            text = (await link.read(uuid)).decode("utf-8", "replace").strip("\x00 ")
            setattr(found, attr, text or None)
    return found


@dataclass(slots=True)
class Progress(Generic[T]):
    """What a (possibly interrupted) transfer has delivered so far."""

    items: dict[int, T] = field(default_factory=dict)
    in_order: bool = True
    last_key: int | None = None
    retries: int = 0
    raw: bytearray = field(default_factory=bytearray)

    def restart(self) -> None:
        """A new attempt: ordering is judged per transfer."""
        self.in_order, self.last_key = True, None

    def add(self, key: int, item: T, merge: Callable[[T, T], T]) -> None:
        """Keep an item (``merge`` joins it with one already held under the same key);
        note when keys stop arriving in ascending order."""
        if self.last_key is not None and key < self.last_key:
            self.in_order = False
        self.last_key = key if self.last_key is None else max(self.last_key, key)
        held = self.items.get(key)
        self.items[key] = item if held is None else merge(held, item)


class RacpHistory(Generic[T]):
    """Template for a RACP history read (see the module docstring)."""

    control_point: ControlPoint
    optional_data: Sequence[str] = ()
    filter_type: int = 0x01

    def __init__(
        self,
        address: str,
        options: BleOptions,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.address = address
        self.options = options
        self._sleep = sleep
        self.all_only = False

    async def prelude(self, link: BleLink) -> None:
        """Read what the transfer needs (features, status, time); store it on ``self``."""

    def start_key(self, since: Cursor | None) -> int | None:
        """First key to request, or None for all records."""
        raise NotImplementedError

    def resume_key(self, progress: Progress[T], start: int | None) -> int | None:
        """Where to ask again after an interruption (module docstring)."""
        if not progress.items or not progress.in_order:
            return start
        return max(progress.items) + 1

    def decode(self, uuid: str, value: bytes) -> Iterable[tuple[int, T]]:
        """Decode one data notification into ``(key, item)`` pairs."""
        raise NotImplementedError

    def merge(self, held: T, new: T) -> T:
        """Join two items with the same key (a re-read duplicate by default: keep ``held``)."""
        return held

    def finish(self, items: dict[int, T], since: Cursor | None) -> HistoryBatch:
        """Records, cursor and meta from every collected item (raw is added later)."""
        raise NotImplementedError

    def request(self, start: int | None) -> racp.Request:
        """Report all, or report records with key >= ``start`` (all when the device
        refused the ``>=`` filter once; the sink then drops records below ``start``)."""
        if start is None or self.all_only:
            return racp.report(racp.Operator.ALL)
        return racp.report(racp.Operator.GE, self.filter_type, start)

    def _sink(self, progress: Progress[T], start: int | None) -> Callable[[str, bytes], None]:
        def on_data(uuid: str, value: bytes) -> None:
            for key, item in self.decode(uuid, value):
                if start is None or key >= start:
                    progress.add(key, item, self.merge)

        return on_data

    async def read(self, since: Cursor | None) -> HistoryBatch:
        """Run the transfer to the end, resuming after interruptions."""
        progress: Progress[T] = Progress()
        delays = self.options.delays()
        start: int | None = None
        first = True
        while True:
            link: BleLink | None = None
            try:
                link = await BleLink.open(
                    self.address, self.options, writable=frozenset({self.control_point.uuid})
                )
                await self.prelude(link)
                if first:
                    start, first = self.start_key(since), False
                ask = self.resume_key(progress, start)
                channel = RacpChannel(link, self.control_point)
                await channel.open(self.optional_data)
                progress.restart()
                sink, timeout_s = self._sink(progress, start), self.options.response_timeout_s
                response = await channel.run(self.request(ask), sink, timeout_s=timeout_s)
                if ask is not None and not self.all_only and _filter_refused(response):
                    self.all_only = True  # quirk: some meters lack ">=" (protocols.md 3.7)
                    response = await channel.run(self.request(ask), sink, timeout_s=timeout_s)
                expect_done(response)
                break
            except DriverError as exc:
                delay = next(delays, None)
                if link is None or not exc.retryable or delay is None:
                    raise  # BleLink.open has already backed off and retried the connect
                progress.retries += 1
                await self._sleep(delay)
            finally:
                if link is not None:
                    progress.raw += link.raw()
                    await link.close()
        batch = self.finish(progress.items, since)
        meta = {**batch.meta, "retries": progress.retries, "address": self.address}
        return HistoryBatch(batch.records, bytes(progress.raw), batch.cursor, meta)


def parse_cursor(since: Cursor | None, prefix: str) -> dict[str, str] | None:
    """``"<prefix>;k=v;k=v"`` -> dict; None for no cursor or another profile's cursor."""
    if since is None or not since.value.startswith(prefix + ";"):
        return None
    pairs = (part.partition("=") for part in since.value.split(";")[1:])
    return {k: v for k, _, v in pairs if k}


def make_cursor(prefix: str, **fields: Any) -> Cursor:
    """Inverse of :func:`parse_cursor`."""
    return Cursor(";".join([prefix, *(f"{k}={v}" for k, v in fields.items())]))


def _filter_refused(response: racp.Response) -> bool:
    refusals = (racp.Result.OPERATOR_NOT_SUPPORTED, racp.Result.OPERAND_NOT_SUPPORTED)
    return isinstance(response, racp.CodeResponse) and response.result in refusals
