"""Fuzzing Nightscout, Tidepool, Tandem and Glooko: random and mutated input raises
only DriverError subclasses (or parses); sniffers always answer a bool.

Seeds are the real files (heads of them) from shared/fixtures/real when present.
"""

from __future__ import annotations

import contextlib
import io
import zipfile
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers._core.errors import DriverError
from drivers.exports import glooko, nightscout, tandem, tidepool
from drivers.exports.detect import Parsed
from tests.conftest import shared_dir

PARSERS: list[Callable[[str, str], Parsed]] = [
    nightscout.parse,
    tidepool.parse,
    tandem.parse,
    glooko.parse,
]
SNIFFERS: list[Callable[[str], bool]] = [
    nightscout.sniff,
    tidepool.sniff,
    tandem.sniff,
    glooko.sniff,
]
FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _seeds() -> list[str]:
    shared = shared_dir()
    if shared is None:
        return []
    out = []
    for folder in ("nightscout", "tidepool", "tandem"):
        for path in sorted((shared / "fixtures" / "real" / folder).iterdir()):
            out.append(path.read_text(encoding="utf-8-sig")[:6000])
    return out


SEEDS = _seeds()


def _run(text: str) -> None:
    for parse in PARSERS:
        with contextlib.suppress(DriverError):
            parse(text, "fuzz")
    for sniff in SNIFFERS:
        assert isinstance(sniff(text), bool)


@FUZZ
@given(st.binary(max_size=1500))
def test_random_bytes(data: bytes) -> None:
    _run(data.decode("utf-8", errors="replace"))
    with contextlib.suppress(DriverError):
        glooko.parse_zip(data, "fuzz.zip")


@FUZZ
@given(
    st.text(
        alphabet=st.sampled_from(list('[]{}",:.-0123456789eE \n\tTZtruefalsn/\\')), max_size=400
    )
)
def test_json_like_text(text: str) -> None:
    _run(text)


@FUZZ
@given(
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
        lambda c: (
            st.lists(c, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "type",
                        "sgv",
                        "date",
                        "dateString",
                        "eventType",
                        "created_at",
                        "time",
                        "value",
                        "subType",
                        "deliveryType",
                        "id",
                        "store",
                        "insulin",
                        "normal",
                        "rate",
                        "duration",
                        "bolus",
                        "units",
                    ]
                ),
                c,
                max_size=6,
            )
        ),
        max_leaves=20,
    )
)
def test_structured_json(value: object) -> None:
    import json

    try:
        text = json.dumps(
            [value, {"type": "cbg", "uploadId": "u", "time": "x", "sgv": 1, "date": 1}]
        )
    except ValueError:
        return
    _run(text)


@pytest.mark.skipif(not SEEDS, reason="shared/ fixtures absent")
@FUZZ
@given(st.data())
def test_mutated_real_files(data: st.DataObject) -> None:
    text = data.draw(st.sampled_from(SEEDS))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, max(0, len(text) - 1)))
        op = data.draw(st.sampled_from(["delete", "insert", "truncate", "dup"]))
        if op == "delete":
            text = text[:pos] + text[pos + data.draw(st.integers(1, 40)) :]
        elif op == "insert":
            text = text[:pos] + data.draw(st.text(max_size=10)) + text[pos:]
        elif op == "truncate":
            text = text[:pos]
        else:
            text = text[:pos] + text[pos : pos + 200] + text[pos:]
    _run(text)


@FUZZ
@given(
    st.dictionaries(
        st.text(max_size=12).map(lambda s: s + ".csv"), st.binary(max_size=200), max_size=4
    )
)
def test_random_zips(members: dict[str, bytes]) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, payload in members.items():
            with contextlib.suppress(ValueError, IndexError):  # zipfile's own name checks
                zf.writestr(name, b"Name:x\r\nTimestamp,Carbs (g)\r\n" + payload)
    with contextlib.suppress(DriverError):
        glooko.parse_zip(buf.getvalue(), "fuzz.zip")
