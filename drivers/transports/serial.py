"""Serial ports through pyserial: open, read exactly, write, list by USB id.

The only module besides the simulators that imports ``serial`` (DESIGN.md §2). Every
``serial.SerialException`` and ``OSError`` becomes a :class:`TransportError` (with
``raise ... from``), and a read that does not complete within its deadline raises a
retryable ``TransportError`` naming the port and how many bytes came. CDC-ACM devices
(``/dev/ttyACM*``, ``/dev/cu.usbmodem*``, ``COMn``) and pseudo-terminals open the same
way, which is how the virtual devices are reached.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from types import TracebackType

import serial
import serial.tools.list_ports

from drivers._core.errors import TransportError

try:  # termios.error (not an OSError) comes out of tcflush/tcsetattr on a vanished port
    import termios

    _LINK_ERRORS: tuple[type[Exception], ...] = (serial.SerialException, OSError, termios.error)
except ImportError:  # pragma: no cover - Windows
    _LINK_ERRORS = (serial.SerialException, OSError)
_OPEN_ERRORS: tuple[type[Exception], ...] = (*_LINK_ERRORS, ValueError)


@dataclass(frozen=True, slots=True)
class SerialPortInfo:
    """One port as the operating system lists it (``vid``/``pid`` None if not USB)."""

    port: str
    vid: int | None
    pid: int | None
    description: str
    serial_number: str | None
    manufacturer: str | None
    hwid: str


def list_serial_ports() -> list[SerialPortInfo]:
    """Every serial port the OS knows, with its USB ids when it has them.

    Raises:
        TransportError: the OS port listing failed.
    """
    try:
        ports = serial.tools.list_ports.comports()
    except OSError as exc:
        raise TransportError("cannot list serial ports", retryable=False) from exc
    return [
        SerialPortInfo(
            port=str(p.device),
            vid=p.vid,
            pid=p.pid,
            description=str(p.description or ""),
            serial_number=p.serial_number,
            manufacturer=p.manufacturer,
            hwid=str(p.hwid or ""),
        )
        for p in ports
    ]


class SerialTransport:
    """A pyserial port with deadline-based exact reads.

    Args:
        port: Device path (``/dev/ttyACM0``, ``COM3``, a pty slave path).
        baudrate: Nominal rate (CDC-ACM ignores it; set it anyway).
        timeout_s: Default deadline for :meth:`read_exact`.
    """

    def __init__(self, port: str, *, baudrate: int = 115200, timeout_s: float = 2.0) -> None:
        self.port = port
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        self._serial: serial.Serial | None = None
        self.bytes_in = 0
        self.bytes_out = 0

    def open(self) -> None:
        """Open the port (8N1, no flow control).

        Raises:
            TransportError: the port does not exist, is busy or not permitted.
        """
        if self._serial is not None:
            return
        try:
            self._serial = serial.Serial(
                self.port,
                baudrate=self.baudrate,
                timeout=0.05,
                write_timeout=self.timeout_s,
                exclusive=True,
            )
        except _OPEN_ERRORS as exc:
            raise TransportError(f"cannot open serial port: {exc}", port=self.port) from exc

    def close(self) -> None:
        """Close the port; closing twice, or after a disconnect, is harmless."""
        port, self._serial = self._serial, None
        if port is not None:
            with contextlib.suppress(*_LINK_ERRORS):
                port.close()

    def __enter__(self) -> SerialTransport:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _port(self) -> serial.Serial:
        if self._serial is None:
            self.open()
        assert self._serial is not None  # open() set it or raised
        return self._serial

    def write(self, data: bytes) -> None:
        """Write all of ``data``.

        Raises:
            TransportError: the write failed or timed out (device gone).
        """
        try:
            self._port().write(data)
            self._port().flush()
        except _LINK_ERRORS as exc:
            raise TransportError(f"write failed: {exc}", port=self.port) from exc
        self.bytes_out += len(data)

    def discard_input(self) -> None:
        """Drop whatever the device sent that nobody read (stale or stray bytes)."""
        try:
            self._port().reset_input_buffer()
        except _LINK_ERRORS as exc:
            raise TransportError(f"cannot reset input: {exc}", port=self.port) from exc

    def read_exact(self, size: int, timeout_s: float | None = None) -> bytes:
        """Read exactly ``size`` bytes before the deadline.

        Raises:
            TransportError: the deadline passed (retryable; ``received`` says how many
                bytes came) or the device went away.
        """
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        buf = bytearray()
        port = self._port()
        while len(buf) < size:
            try:
                chunk = port.read(size - len(buf))
            except _LINK_ERRORS as exc:
                raise TransportError(f"read failed: {exc}", port=self.port) from exc
            if chunk:
                buf += chunk
                self.bytes_in += len(chunk)
            elif time.monotonic() > deadline:
                raise TransportError(
                    "no answer before the deadline",
                    port=self.port,
                    expected=size,
                    received=len(buf),
                )
        return bytes(buf)
