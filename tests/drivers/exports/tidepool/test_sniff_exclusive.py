"""Every real fixture (all vendors) is claimed by exactly one sniffer, so registering the
Nightscout, Tidepool, Tandem and Glooko sniffers beside the existing ones is safe."""

from __future__ import annotations

from pathlib import Path

from drivers.exports import (
    carelink,
    dexcom_clarity,
    freestyle_reader,
    glooko,
    libreview,
    nightscout,
    tandem,
    tidepool,
)
from drivers.transports.files import decode

SNIFFERS = {
    "dexcom-clarity": dexcom_clarity.sniff,
    "libreview": libreview.sniff,
    "freestyle-reader": freestyle_reader.sniff,
    "carelink": carelink.sniff,
    "nightscout": nightscout.sniff,
    "tidepool": tidepool.sniff,
    "tandem": tandem.sniff,
    "glooko": glooko.sniff,
}
OWNER = {
    "dexcom-clarity": "dexcom-clarity",
    "nightscout": "nightscout",
    "tidepool": "tidepool",
    "tandem": "tandem",
    "medtronic-carelink": "carelink",
    "classic_2014_tidepool_uploader": "carelink",
}


def test_each_fixture_has_one_sniffer(real_fixtures: Path) -> None:
    for path in sorted(p for p in real_fixtures.rglob("*") if p.is_file() and p.suffix != ".md"):
        head = decode(path.read_bytes(), path.name).text[:20000]
        hits = [name for name, sniff in SNIFFERS.items() if sniff(head)]
        assert len(hits) == 1, (path.name, hits)
        expected = OWNER.get(path.parent.name)
        if expected is not None:
            assert hits == [expected], path.name
