"""``Store.ingest`` writes its records with multi-row INSERTs: every record once, in
the upload's order (row ids), whatever the batch size relative to the statement size."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.store.sqlite import Store
from tests.gateway.factories import cgm


@pytest.mark.parametrize("n", [1, 127, 128, 129, 1000])
def test_every_record_stored_once_in_upload_order(tmp_path: Path, n: int) -> None:
    records = [cgm(i, mgdl=float(40 + i % 300)) for i in range(n)][::-1]  # newest first
    with Store(tmp_path / "g.sqlite") as store:
        patient = store.patient("local-1", "p-aaaaaaaaaaaaaaaa", "UTC")
        result = store.ingest(patient, records, raw=b"file", fmt="x", devices={})
        assert (result.added, result.already_stored) == (n, 0)
        ids = [r[0] for r in store.db.execute("SELECT source_index FROM records ORDER BY id")]
        assert ids == [f"egv:{i}" for i in range(n)][::-1]
        assert store.records(patient) == records[::-1]  # read back in time order
        again = store.ingest(patient, records, raw=b"file", fmt="x", devices={})
        assert (again.added, again.already_stored) == (0, n)
        assert store.count_records() == n
