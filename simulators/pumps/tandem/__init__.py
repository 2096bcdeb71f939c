"""A virtual Tandem t:slim X2 pump on a pseudo-terminal.

Write a log from a plain list of therapy events with :func:`build_log` (or generate one
with the seeded :func:`generate`), serve it with :class:`VirtualPump`, and point the
driver at :attr:`VirtualPump.port`::

    log = build_log(generate(7, start=datetime(2025, 3, 1), days=3), first_seq=1000)
    with VirtualPump(log.events, faults=[Fault("bad-checksum", seq=1500)]) as pump:
        batch = TandemPump(pump.port).read_history()
    assert not pump.violations            # no id off the allow-list arrived
    # batch.records against log.truth
"""

from __future__ import annotations

from simulators.pumps.tandem.device import Fault, VirtualPump
from simulators.pumps.tandem.history import (
    Alarm,
    BgEntry,
    Bolus,
    CgmReading,
    ClockChange,
    HistoryEvent,
    PumpLog,
    ScheduledRate,
    SiteChange,
    Suspend,
    TempBasal,
    Truth,
    build_log,
    default_profiles,
    generate,
)

__all__ = [
    "Alarm",
    "BgEntry",
    "Bolus",
    "CgmReading",
    "ClockChange",
    "Fault",
    "HistoryEvent",
    "PumpLog",
    "ScheduledRate",
    "SiteChange",
    "Suspend",
    "TempBasal",
    "Truth",
    "VirtualPump",
    "build_log",
    "default_profiles",
    "generate",
]
