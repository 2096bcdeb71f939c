"""Tandem t:slim X2 insulin pump over USB (read-only).

The pump's micro-USB port is a CDC-ACM serial port (USB ``0483:5740``, 921600 Bd 8N1):
``/dev/ttyACM0`` on Linux, ``/dev/cu.usbmodem*`` on macOS, ``COMn`` on Windows. The
pump keeps delivering insulin while connected; the driver only reads.

What it reads: identity and the pump clock (every answer's trailer), the personal
profiles (basal schedules, carb ratios, sensitivities, targets, insulin duration) and
the history log: boluses with their bolus-calculator inputs and recommendation (and
whether the user changed it), basal segments rebuilt from rate changes (scheduled, temp,
suspended), suspend/resume, alarms and alerts, cartridge/tubing/cannula fills, CGM
readings stored on the pump, BG entries and clock changes. Incremental: pass the cursor
of the previous sync and only newer log records are read. Nothing is ever written: the
only ids that can leave the driver are :data:`messages.ALLOWED_COMMANDS` (seven reads).

Example::

    from drivers.pumps.tandem import TandemPump, detect_pumps

    port = next(p.port for p in detect_pumps() if p.recognised)
    with TandemPump(port) as pump:
        info = pump.device_info()
        batch = pump.read_history(since=None)   # later: since=batch.cursor
        clock = pump.read_clock()

Files: ``frames`` (framing, byte-sum checksum), ``messages`` (ids, allow-list, payload
codecs), ``events`` (history record layouts, epoch), ``decode`` (entries and raw
captures), ``normalize`` (events -> normalized records), ``cursor``, ``session`` (the
port). Sources and decisions: ``firmware-notes/tandem-pump.md``.
"""

from __future__ import annotations

from drivers.pumps.tandem.messages import ALLOWED_COMMANDS, CommandNotAllowed, PumpRefused
from drivers.pumps.tandem.session import (
    TANDEM_PID,
    TANDEM_VID,
    PortInfo,
    TandemPump,
    detect_pumps,
)

__all__ = [
    "ALLOWED_COMMANDS",
    "TANDEM_PID",
    "TANDEM_VID",
    "CommandNotAllowed",
    "PortInfo",
    "PumpRefused",
    "TandemPump",
    "detect_pumps",
]
