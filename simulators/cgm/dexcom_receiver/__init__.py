"""A virtual Dexcom G4/G5/G6 receiver on a pseudo-terminal.

Build a :class:`ReceiverDatabase` from normalized glucose samples, serve it with
:class:`VirtualReceiver`, and point the driver at :attr:`VirtualReceiver.port`::

    db = ReceiverDatabase(G6, serial="SM00000001")
    db.add_samples(samples)                  # any sequence of GlucoseSample
    with VirtualReceiver(db, faults=[Fault("nak", nth=3)]) as receiver:
        batch = DexcomReceiver(receiver.port).read_history()
    assert not receiver.violations           # no command off the allow-list arrived
"""

from __future__ import annotations

from simulators.cgm.dexcom_receiver.database import (
    G4,
    G5,
    G6,
    MODELS,
    ReceiverDatabase,
    ReceiverModel,
)
from simulators.cgm.dexcom_receiver.device import Fault, VirtualReceiver

__all__ = [
    "G4",
    "G5",
    "G6",
    "MODELS",
    "Fault",
    "ReceiverDatabase",
    "ReceiverModel",
    "VirtualReceiver",
]
