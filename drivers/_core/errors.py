"""The one error tree every driver, importer and transport raises.

Every error carries its context in attributes (``file``, ``line``, ``field``,
``frame``, ``wire``/``calculated``) and prints them, so that a kiosk operator or a log
reader sees *where* input went wrong. ``retryable`` tells the sync engine whether a
retry can help (a timeout can; a corrupt file cannot).

Foreign exceptions (``serial.SerialException``, ``bleak.exc.BleakError``,
``UnicodeDecodeError`` ...) are translated at the boundary with ``raise ... from``.
"""

from __future__ import annotations

from typing import Any


class DriverError(Exception):
    """Base of every error raised by ``drivers/``.

    Args:
        message: What went wrong, in words a clinic operator can act on.
        retryable: Whether repeating the operation may succeed. Defaults to the
            class attribute.
        **context: Where it went wrong (file, line, field, frame, ...); kept as
            attributes and printed in ``str()``.
    """

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        if retryable is not None:
            self.retryable = retryable
        self.context: dict[str, Any] = {k: v for k, v in context.items() if v is not None}
        for key, value in self.context.items():
            setattr(self, key, value)

    def __str__(self) -> str:
        where = self._where()
        return f"{where}: {self.message}" if where else self.message

    def _where(self) -> str:
        parts: list[str] = []
        file = self.context.get("file")
        line = self.context.get("line")
        if file is not None:
            parts.append(f"{file}:{line}" if line is not None else str(file))
        elif line is not None:
            parts.append(f"line {line}")
        for key, value in self.context.items():
            if key in ("file", "line"):
                continue
            if isinstance(value, int) and key in ("wire", "calculated"):
                parts.append(f"{key}=0x{value:04X}")
            else:
                parts.append(f"{key}={value!r}" if not isinstance(value, str) else f"{key}={value}")
        return ", ".join(parts)


class TransportError(DriverError):
    """The link to the device failed (port vanished, timeout, BLE disconnect)."""

    retryable = True


class ProtocolError(DriverError):
    """The device answered, but not as the protocol says (NAK, bad frame, bad length)."""


class ChecksumError(ProtocolError):
    """A frame, page or record failed its CRC/checksum.

    Attributes:
        wire: The checksum carried on the wire.
        calculated: The checksum computed over the received bytes.
    """

    retryable = True

    def __init__(self, message: str, *, wire: int, calculated: int, **context: Any) -> None:
        super().__init__(message, wire=wire, calculated=calculated, **context)
        self.wire = wire
        self.calculated = calculated


class DecodeError(ProtocolError):
    """Bytes or text were read whole but cannot be decoded into records."""


class FileFormatError(DecodeError):
    """A vendor export cannot be read: names the file and, where known, line and field."""


class UnsupportedDevice(DriverError):
    """The device or file is recognised as not supported (or not recognised at all)."""
