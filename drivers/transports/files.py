"""Reading vendor exports from disk or an upload: size limit, encoding, delimiter.

Shared by every importer (DESIGN.md section 4, "transports/files.py"). Facts from the
formats note (shared/reference/vendor-formats.md, section 0): exports arrive as UTF-8
with or without BOM, or UTF-16LE with BOM (Medtronic iPro2); a spreadsheet round trip
can leave a double-encoded BOM (``ï»¿``) as text; the delimiter is ``,`` ``;`` or tab
and must be sniffed from the header line; the decimal separator is separate from it.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from drivers._core.errors import FileFormatError

MAX_EXPORT_BYTES = 50 * 1024 * 1024
"""Largest export accepted (50 MiB). A 90-day CareLink export is about 3 MiB, a
90-day Clarity export about 2 MiB; anything far larger is not an export."""

_MOJIBAKE_BOM = "\u00ef\u00bb\u00bf"


@dataclass(frozen=True, slots=True)
class DecodedText:
    """An export's text with how it was decoded."""

    text: str
    encoding: str
    had_bom: bool


def read_bytes(path: str | Path, *, limit: int = MAX_EXPORT_BYTES) -> bytes:
    """Read a file whole, refusing files over ``limit`` bytes (named in the error)."""
    path = Path(path)
    size = path.stat().st_size
    if size > limit:
        raise FileFormatError(
            f"file is {size} bytes; exports larger than {limit} bytes are refused",
            file=str(path),
        )
    return path.read_bytes()


def decode(data: bytes, name: str) -> DecodedText:
    """Decode by BOM: UTF-16 LE/BE, UTF-8 (with or without BOM); strip a mojibake BOM."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, had_bom = "utf-16", True
    elif data.startswith(codecs.BOM_UTF8):
        encoding, had_bom = "utf-8-sig", True
    else:
        encoding, had_bom = "utf-8", False
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileFormatError(
            f"not valid {encoding.upper().replace('-SIG', '')} text (byte 0x{data[exc.start]:02X}"
            f" at offset {exc.start}); export the file again from the portal",
            file=name,
            line=line,
        ) from exc
    for prefix in ('"' + _MOJIBAKE_BOM, _MOJIBAKE_BOM):
        if text.startswith(prefix):
            text = ('"' if prefix.startswith('"') else "") + text[len(prefix) :]
            had_bom = True
            break
    if "\x00" in text:
        raise FileFormatError("binary data (NUL bytes) in a text export", file=name)
    return DecodedText(text, encoding, had_bom)


def sniff_delimiter(header_line: str) -> str:
    """The most frequent of ``,`` ``;`` and tab in a header line (``,`` on a tie).

    >>> sniff_delimiter('"Index";"Timestamp";"Event Type"')
    ';'
    >>> sniff_delimiter("Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type")
    ','
    """
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","
