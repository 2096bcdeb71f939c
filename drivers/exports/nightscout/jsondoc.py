"""JSON documents from web APIs: the items of a top-level array with their lines.

Shared by the Nightscout and Tidepool importers. A skipped item is reported by its
1-based array index *and* the physical line its object starts on, so an operator can
find it in the file. Invalid or truncated JSON raises :class:`FileFormatError` with the
line the decoder stopped at; nothing here raises anything else.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from drivers._core.errors import FileFormatError

_WHITESPACE = " \t\n\r"


@dataclass(frozen=True, slots=True)
class Item:
    """One element of the top-level array.

    Attributes:
        index: 1-based position in the array ("item N").
        line: 1-based physical line the element starts on.
        value: The decoded element (usually a dict).
    """

    index: int
    line: int
    value: Any


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


class _Lines:
    """Offset -> 1-based line number, by bisecting the newline offsets once."""

    def __init__(self, text: str) -> None:
        self._breaks = [i for i, ch in enumerate(text) if ch == "\n"]

    def line(self, offset: int) -> int:
        return bisect_right(self._breaks, offset - 1) + 1


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WHITESPACE:
        pos += 1
    return pos


def _error(message: str, file: str, lines: _Lines, pos: int) -> FileFormatError:
    return FileFormatError(message, file=file, line=lines.line(pos))


def _decode_one(text: str, pos: int, file: str, lines: _Lines) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        raise FileFormatError(
            f"invalid JSON: {exc.msg} (column {exc.colno})", file=file, line=exc.lineno
        ) from exc
    except RecursionError as exc:
        raise _error("invalid JSON: nested too deeply", file, lines, pos) from exc
    except ValueError as exc:  # NaN/Infinity, integers with too many digits
        raise _error(f"invalid JSON: {exc}", file, lines, pos) from exc


def load_items(text: str, *, file: str) -> list[Item]:
    """Decode a JSON document whose top level is an array (or one object).

    Args:
        text: The decoded file.
        file: File name for errors.

    Returns:
        The array's elements with index and starting line; a single top-level object
        is returned as a one-element list.

    Raises:
        FileFormatError: Empty file, invalid JSON, a truncated array (the line where
            it stops is named), text after the document.
    """
    lines = _Lines(text)
    pos = _skip_ws(text, 0)
    if pos >= len(text):
        raise FileFormatError("empty file: no JSON document", file=file, line=1)
    if text[pos] != "[":
        value, end = _decode_one(text, pos, file, lines)
        _expect_end(text, end, file, lines)
        return [Item(1, lines.line(pos), value)]
    items: list[Item] = []
    pos = _skip_ws(text, pos + 1)
    if pos < len(text) and text[pos] == "]":
        _expect_end(text, pos + 1, file, lines)
        return items
    while True:
        if pos >= len(text):
            raise _error(
                f"truncated JSON: the array stops after item {len(items)}", file, lines, pos
            )
        value, end = _decode_one(text, pos, file, lines)
        items.append(Item(len(items) + 1, lines.line(pos), value))
        pos = _skip_ws(text, end)
        if pos >= len(text):
            raise _error(
                f"truncated JSON: the array stops after item {len(items)}", file, lines, pos
            )
        if text[pos] == "]":
            _expect_end(text, pos + 1, file, lines)
            return items
        if text[pos] != ",":
            raise _error(
                f"invalid JSON: expected ',' or ']' after item {len(items)}", file, lines, pos
            )
        pos = _skip_ws(text, pos + 1)


def _expect_end(text: str, pos: int, file: str, lines: _Lines) -> None:
    pos = _skip_ws(text, pos)
    if pos < len(text):
        raise _error("invalid JSON: text after the end of the document", file, lines, pos)


def number(value: Any) -> float | None:
    """A JSON number (or a numeric string, as legacy Nightscout writes ``"sgv": "5"``)
    as a finite float; ``None`` for null, empty, booleans and anything else.

    >>> number(5), number("5"), number(" 7.5 "), number(True), number("x"), number(None)
    (5.0, 5.0, 7.5, None, None, None)
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        try:
            result = float(value)
        except OverflowError:
            return None
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return result if math.isfinite(result) else None


def text(value: Any) -> str:
    """A JSON string value stripped; ``""`` for anything that is not a string."""
    return value.strip() if isinstance(value, str) else ""
