"""Fuzzing: random and mutated input raises only DriverError subclasses (or parses)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers._core.errors import DriverError
from drivers.exports import freestyle_reader, libreview
from tests.conftest import shared_dir
from tests.fixtures.make_golden_libre_carelink import decode

PARSERS: list[Callable[..., object]] = [libreview.parse, freestyle_reader.parse]
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _heads() -> list[str]:
    shared = shared_dir()
    if shared is None:
        return []
    folder = shared / "fixtures" / "real" / "libreview"
    return ["".join(decode(p.read_bytes()).splitlines(True)[:40]) for p in sorted(folder.iterdir())]


HEADS = _heads()


def _run(parse: Callable[..., object], text: str) -> None:
    with contextlib.suppress(DriverError):
        parse(text, file="fuzz.csv")


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    for parse in PARSERS:
        _run(parse, text)
        assert isinstance(libreview.sniff(text), bool) and isinstance(
            freestyle_reader.sniff(text), bool
        )


@FUZZ
@given(
    st.text(
        alphabet=st.sampled_from(list(',;\t\n\r"0123456789-/: APMHILOmgdl.é\x00')), max_size=800
    )
)
def test_csv_like_text(text: str) -> None:
    for parse in PARSERS:
        _run(parse, text)


@pytest.mark.skipif(not HEADS, reason="shared/ fixtures absent")
@FUZZ
@given(
    st.integers(min_value=0),
    st.integers(min_value=0, max_value=3000),
    st.integers(min_value=0, max_value=200),
    st.text(max_size=30),
)
def test_mutated_real_files(which: int, at: int, cut: int, insert: str) -> None:
    head = HEADS[which % len(HEADS)]
    at %= max(1, len(head))
    mutated = head[:at] + insert + head[at + cut :]
    for parse in PARSERS:
        _run(parse, mutated)


def test_real_heads_parse(tmp_path: Path) -> None:
    """The unmutated heads are valid files (so the mutations start from real input)."""
    for head in HEADS:
        parse = freestyle_reader.parse if freestyle_reader.sniff(head) else libreview.parse
        assert parse(head, file="head")
