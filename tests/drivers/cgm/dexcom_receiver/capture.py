"""Load the G4 capture excerpt (data/g4_capture.txt): (request, answer) byte pairs."""

from __future__ import annotations

from pathlib import Path

CAPTURE = Path(__file__).with_name("data") / "g4_capture.txt"


def exchanges() -> list[tuple[bytes, bytes]]:
    """Every captured (request, answer) pair, in capture order."""
    rows = [
        line.split(",", 1)
        for line in CAPTURE.read_text(encoding="ascii").splitlines()
        if line and not line.startswith("#")
    ]
    pairs = []
    for (d1, h1), (d2, h2) in zip(rows[::2], rows[1::2], strict=True):
        assert (d1, d2) == ("out", "in")
        pairs.append((bytes.fromhex(h1), bytes.fromhex(h2)))
    return pairs


def answer_to(request_hex: str) -> bytes:
    """The captured answer to one request, given as spaced hex."""
    want = bytes.fromhex(request_hex)
    return next(answer for request, answer in exchanges() if request == want)
