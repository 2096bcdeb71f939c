"""Fuzzing the CareLink importer: random and mutated input raise only DriverError."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers._core.errors import DriverError
from drivers.exports import carelink
from tests.conftest import shared_dir
from tests.fixtures.make_golden_libre_carelink import decode

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _heads() -> list[str]:
    shared = shared_dir()
    if shared is None:
        return []
    folder = shared / "fixtures" / "real" / "medtronic-carelink"
    files = sorted(p for p in folder.rglob("*.csv"))
    return ["".join(decode(p.read_bytes()).splitlines(True)[:60]) for p in files]


HEADS = _heads()


def _run(text: str) -> None:
    with contextlib.suppress(DriverError):
        carelink.parse(text, file="fuzz.csv")


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes(data: bytes) -> None:
    _run(data.decode("utf-8", errors="replace"))
    _run(data.decode("utf-16-le", errors="replace"))


@FUZZ
@given(
    st.sampled_from(
        ["Last Name;First Name;Patient ID\n", "Data Range,x\n", "Medtronic Diabetes iPro\n"]
    ),
    st.text(
        alphabet=st.sampled_from(list(';,\t\n\r"0123456789-/:., IndexDateTime-\x00')), max_size=800
    ),
)
def test_carelink_like_text(first: str, rest: str) -> None:
    _run(first + rest)


@pytest.mark.skipif(not HEADS, reason="shared/ fixtures absent")
@FUZZ
@given(
    st.integers(min_value=0),
    st.integers(min_value=0, max_value=20000),
    st.integers(min_value=0, max_value=300),
    st.text(max_size=30),
)
def test_mutated_real_files(which: int, at: int, cut: int, insert: str) -> None:
    head = HEADS[which % len(HEADS)]
    at %= max(1, len(head))
    _run(head[:at] + insert + head[at + cut :])
