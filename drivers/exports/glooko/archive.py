"""Glooko exports arrive as one ZIP of CSVs (or those CSVs unpacked in a folder).

Nothing is extracted to disk: members are read into memory under hard limits, and a
ZIP is refused with :class:`FileFormatError` when it

* has more than :data:`MAX_ENTRIES` entries,
* declares, or actually inflates to, more than :data:`MAX_TOTAL_BYTES` (a zip bomb:
  the inflated bytes are counted while reading, so a lying header does not help),
* holds a member larger than :data:`~drivers.transports.files.MAX_EXPORT_BYTES`,
* names a member with ``..``, an absolute path, a drive letter or a backslash
  (path traversal), or is encrypted or not a ZIP at all.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from drivers._core.errors import FileFormatError
from drivers.transports.files import MAX_EXPORT_BYTES, decode, read_bytes

MAX_ENTRIES = 200
"""A Glooko export has about a dozen CSVs, split into ``_1``, ``_2`` ... when large."""
MAX_TOTAL_BYTES = 200 * 1024 * 1024
"""Total inflated size accepted (a 90-day export is a few MiB)."""
CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Member:
    """One CSV of the export, decoded."""

    name: str
    text: str


def _safe_name(name: str, file: str) -> str:
    path = PurePosixPath(name)
    if (
        "\\" in name
        or name.startswith("/")
        or ".." in path.parts
        or (len(name) > 1 and name[1] == ":")
        or "\x00" in name
    ):
        raise FileFormatError("ZIP member name leaves the archive (path traversal)", file=file)
    return name


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, file: str) -> bytes:
    if info.flag_bits & 0x1:
        raise FileFormatError("encrypted ZIP member", file=file)
    limit = min(budget, MAX_EXPORT_BYTES)
    out = bytearray()
    with zf.open(info) as handle:
        while chunk := handle.read(CHUNK):
            out += chunk
            if len(out) > limit:
                raise FileFormatError(
                    f"ZIP inflates beyond {limit} bytes (zip bomb?); refused", file=file
                )
    return bytes(out)


def read_zip(data: bytes, *, file: str) -> list[Member]:
    """The ``.csv`` members of a Glooko ZIP, decoded, in name order.

    Raises:
        FileFormatError: Not a ZIP, too many entries, too large, path traversal,
            encryption, a corrupt member, text that is not UTF-8/UTF-16.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ENTRIES:
                raise FileFormatError(
                    f"ZIP has {len(infos)} entries; more than {MAX_ENTRIES} are refused", file=file
                )
            for info in infos:
                _safe_name(info.filename, file)
            declared = sum(i.file_size for i in infos)
            if declared > MAX_TOTAL_BYTES:
                raise FileFormatError(
                    f"ZIP declares {declared} bytes uncompressed; limit {MAX_TOTAL_BYTES}",
                    file=file,
                )
            members: list[Member] = []
            budget = MAX_TOTAL_BYTES
            for info in sorted(infos, key=lambda i: i.filename):
                name = info.filename
                # name test first: ZipInfo.is_dir() raises IndexError on an empty name
                if not name.lower().endswith(".csv") or info.is_dir() or "__MACOSX" in name:
                    continue
                raw = _read_member(zf, info, budget, file)
                budget -= len(raw)
                members.append(Member(name, decode(raw, f"{file}!{name}").text))
            return members
    except FileFormatError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error) as exc:
        raise FileFormatError(f"not a readable ZIP: {exc}", file=file) from exc
    except (NotImplementedError, RuntimeError, ValueError, OSError) as exc:
        raise FileFormatError(f"ZIP member cannot be read: {exc}", file=file) from exc


def read_folder(folder: str | Path) -> list[Member]:
    """The ``.csv`` files under an unpacked export folder (recursively), decoded.

    Raises:
        FileFormatError: More than :data:`MAX_ENTRIES` CSVs or more than
            :data:`MAX_TOTAL_BYTES` in total; a file too large or not text.
    """
    root = Path(folder)
    paths = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() == ".csv")
    if len(paths) > MAX_ENTRIES:
        raise FileFormatError(f"{len(paths)} CSV files; more than {MAX_ENTRIES}", file=str(root))
    total = 0
    members: list[Member] = []
    for path in paths:
        raw = read_bytes(path)
        total += len(raw)
        if total > MAX_TOTAL_BYTES:
            raise FileFormatError(f"folder holds more than {MAX_TOTAL_BYTES} bytes", file=str(root))
        rel = path.relative_to(root).as_posix()
        members.append(Member(rel, decode(raw, str(path)).text))
    return members
