"""Which advertising device speaks which diabetes profile, by advertised service UUID.

``glucogate detect`` calls :func:`scan`; ``glucogate upload --ble ADDRESS`` calls
:func:`reader_for` to get the matching reader. Sensors that do not advertise their
service UUID (some meters only do so in pairing mode) are not classified; pass
``all_devices=True`` to list them anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from drivers.ble import uuids
from drivers.transports.ble import Advertisement, BleOptions, ClientBackend, discover

if TYPE_CHECKING:
    from drivers.ble.cgms.session import CgmsReader
    from drivers.ble.gls.session import GlsReader
    from drivers.ble.ids.session import IdsReader

Kind = Literal["cgm", "meter", "pump"]

KIND_BY_SERVICE: dict[str, Kind] = {
    uuids.CGM_SERVICE: "cgm",
    uuids.GLUCOSE_SERVICE: "meter",
    uuids.INSULIN_DELIVERY_SERVICE: "pump",
}
DRIVER_BY_KIND: dict[Kind, str] = {"cgm": "ble-cgms", "meter": "ble-gls", "pump": "ble-ids"}


@dataclass(frozen=True, slots=True)
class Advertised:
    """A device found by :func:`scan`. ``kind`` None = no diabetes profile advertised."""

    address: str
    name: str | None
    services: tuple[str, ...]
    kind: Kind | None
    rssi: int | None = None

    @property
    def driver(self) -> str | None:
        """Registry name of the driver for this device (``ble-cgms`` ...)."""
        return DRIVER_BY_KIND[self.kind] if self.kind else None


def classify(services: tuple[str, ...] | list[str]) -> Kind | None:
    """The profile kind of an advertised service list (first match wins).

    >>> classify(["0000181f-0000-1000-8000-00805f9b34fb"])
    'cgm'
    """
    for uuid in services:
        kind = KIND_BY_SERVICE.get(uuid.lower())
        if kind is not None:
            return kind
    return None


def _advertised(adv: Advertisement) -> Advertised:
    return Advertised(
        adv.address, adv.name, adv.service_uuids, classify(adv.service_uuids), adv.rssi
    )


async def scan(
    backend: ClientBackend | None = None, *, timeout: float = 5.0, all_devices: bool = False
) -> list[Advertised]:
    """Scan for ``timeout`` seconds; diabetes devices only unless ``all_devices``.

    Args:
        backend: A bleak client backend class; its ``scanner_backend`` is used.
        timeout: Seconds to scan.
        all_devices: Also list devices advertising none of the three services.
    """
    found = [_advertised(a) for a in await discover(backend, timeout_s=timeout)]
    return sorted(
        (a for a in found if all_devices or a.kind is not None),
        key=lambda a: (a.kind or "~", a.address),
    )


def reader_for(
    kind: Kind,
    address: str,
    *,
    backend: ClientBackend | None = None,
    options: BleOptions | None = None,
) -> CgmsReader | GlsReader | IdsReader:
    """The reader for a detected device (``CgmsReader``, ``GlsReader`` or ``IdsReader``)."""
    if kind == "cgm":
        from drivers.ble.cgms.session import CgmsReader

        return CgmsReader(address, backend=backend, options=options)
    if kind == "meter":
        from drivers.ble.gls.session import GlsReader

        return GlsReader(address, backend=backend, options=options)
    from drivers.ble.ids.session import IdsReader

    return IdsReader(address, backend=backend, options=options)
