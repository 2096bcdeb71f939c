"""Bluetooth SIG diabetes profiles: CGM Service, Glucose Service, Insulin Delivery Service.

One protocol family, three read-only collector drivers over bleak's public API
(through :mod:`drivers.transports.ble`, the only driver module that imports bleak):

* :mod:`drivers.ble.cgms` -- CGM Service 0x181F (``CgmsReader``);
* :mod:`drivers.ble.gls` -- Glucose Service 0x1808, Bluetooth meters (``GlsReader``);
* :mod:`drivers.ble.ids` -- Insulin Delivery Service 0x183A, pumps (``IdsReader``);
* :mod:`drivers.ble.detect` -- ``scan()``: which advertised device speaks which profile.

Shared codecs live beside them: IEEE 11073 SFLOAT/FLOAT (:mod:`~drivers.ble.sfloat`),
the Record Access Control Point (:mod:`~drivers.ble.racp`), the E2E-CRC
(:mod:`~drivers.ble.e2e_crc`) and the Date Time / Time Zone / DST Offset
characteristics (:mod:`~drivers.ble.date_time`). Byte layouts, quirks and sources are in
``firmware-notes/ble-cgms.md``, ``ble-gls.md`` and ``ble-ids.md``.
"""
