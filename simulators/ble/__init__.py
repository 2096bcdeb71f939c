"""Virtual Bluetooth LE diabetes devices behind a bleak backend.

* :mod:`simulators.ble.backend` -- ``SimulatedClientBackend`` / ``SimulatedScannerBackend``
  (``BaseBleakClient`` / ``BaseBleakScanner`` subclasses) and the :class:`Air` they talk over;
* :mod:`simulators.ble.cgm`, :mod:`~simulators.ble.meter`, :mod:`~simulators.ble.pump` --
  CGM Service, Glucose Service and Insulin Delivery Service peripherals filled from
  normalized records, built from the drivers' own codecs;
* :mod:`simulators.ble.gatt` -- the virtual GATT server, its write log and :class:`Faults`;
* :mod:`simulators.ble.series` -- small seeded series with known truth.
"""
