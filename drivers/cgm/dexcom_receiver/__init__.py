"""Dexcom G4 / G5 / G6 receivers over USB (read-only).

Models: Dexcom G4 Platinum receiver, G5 Mobile receiver (G4-style hardware), and the
G5 and G6 touchscreen receivers. They all enumerate as USB ``22A3:0047``, a CDC-ACM
serial port: ``/dev/ttyACM0`` on Linux, ``/dev/cu.usbmodem*`` on macOS, ``COMn`` on
Windows. ``glucogate detect`` lists the ports and says which one is a receiver and why
the others are not. On Linux the user needs access to the port (group ``dialout`` or
``plugdev``), and ModemManager must leave it alone (udev ``ID_MM_DEVICE_IGNORE=1``).

What it reads: CGM readings (EGV, with trend; High/Low and the receiver's special
sensor states kept as flags, never as numbers), backfilled readings on touchscreen
receivers, fingerstick calibrations, sensor starts/stops, user events (carbs,
insulin, exercise, health) and clock changes made on the receiver. Incremental: pass
the cursor of the previous sync and only newer database pages are read. The receiver's
clock (display time) is read for the time base. Nothing is ever written: the driver can
only send the commands on :data:`messages.READ_ONLY_COMMANDS` (no clock setting, no
erase, no reset).

Example::

    from drivers.cgm.dexcom_receiver import DexcomReceiver, detect_receivers

    port = next(p.port for p in detect_receivers() if p.recognised)
    with DexcomReceiver(port) as receiver:
        info = receiver.device_info()
        batch = receiver.read_history(since=None)   # later: since=batch.cursor
        clock = receiver.read_clock()

Files: ``frames`` (framing, CRC-16/XMODEM), ``messages`` (commands, allow-list, payload
codecs), ``layouts`` and ``decode`` (database records and pages), ``normalize``
(records -> normalized records), ``session`` (the port). Sources and what was
confirmed against a real G4 capture: ``firmware-notes/dexcom-receiver.md``.
"""

from __future__ import annotations

from drivers.cgm.dexcom_receiver.session import (
    DEXCOM_PID,
    DEXCOM_VID,
    DexcomReceiver,
    PortInfo,
    TransferInterrupted,
    detect_receivers,
)

__all__ = [
    "DEXCOM_PID",
    "DEXCOM_VID",
    "DexcomReceiver",
    "PortInfo",
    "TransferInterrupted",
    "detect_receivers",
]
