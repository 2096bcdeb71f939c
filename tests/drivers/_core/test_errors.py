"""The error tree prints where input went wrong and says whether a retry can help."""

from __future__ import annotations

from drivers._core.errors import (
    ChecksumError,
    DecodeError,
    DriverError,
    FileFormatError,
    ProtocolError,
    TransportError,
    UnsupportedDevice,
)


def test_file_errors_name_file_line_and_field() -> None:
    err = FileFormatError("not a number", file="export.csv", line=12, field="Glucose Value")
    assert str(err) == "export.csv:12, field=Glucose Value: not a number"
    assert (err.file, err.line, err.field) == ("export.csv", 12, "Glucose Value")
    assert not err.retryable


def test_checksum_error_prints_both_values_in_hex() -> None:
    err = ChecksumError("page CRC mismatch", wire=0x1234, calculated=0x4321, frame=7)
    assert str(err) == "wire=0x1234, calculated=0x4321, frame=7: page CRC mismatch"
    assert err.retryable and isinstance(err, ProtocolError)


def test_hierarchy_and_retry_defaults() -> None:
    assert TransportError("gone").retryable
    assert not DecodeError("bad").retryable
    assert TransportError("gone", retryable=False).retryable is False
    for cls in (TransportError, ProtocolError, ChecksumError, DecodeError, UnsupportedDevice):
        assert issubclass(cls, DriverError)
    assert str(UnsupportedDevice("unknown format")) == "unknown format"
