"""Record Access Control Point: byte-exact requests and responses for both dialects."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers._core.errors import DecodeError
from drivers.ble import racp
from drivers.ble.racp import IDD, SIG, Op, Operator, Result

H = bytes.fromhex


# Op codes, operators and byte strings: GLS 1.0 section 3.6.3 / CGMS 1.0.1 section 3.8,
# as in NordicSemiconductor/Android-BLE-Common-Library RecordAccessControlPointData.java
# (reportAllStoredRecords = 01 01, reportFirstStoredRecord = 01 05, ...); table in
# shared/reference/protocols.md section 3.2.
@pytest.mark.parametrize(
    ("request_", "wire"),
    [
        (racp.report(Operator.ALL), "01 01"),
        (racp.report_number(Operator.ALL), "04 01"),
        (racp.report(Operator.FIRST), "01 05"),
        (racp.report(Operator.LAST), "01 06"),
        (racp.report(Operator.GE, 0x01, 0x0010), "01 03 01 10 00"),  # GLS seq >= 16
        (racp.report(Operator.RANGE, 0x01, 5, 9), "01 04 01 05 00 09 00"),  # GLS seq 5..9
        (racp.report_number(Operator.GE, 0x01, 11), "04 03 01 0B 00"),
        (racp.report(Operator.GE, 0x01, 120), "01 03 01 78 00"),  # CGMS offset >= 120 min
        (racp.report(Operator.LE, 0x01, 7), "01 02 01 07 00"),
        (racp.ABORT, "03 00"),
    ],
)
def test_sig_requests(request_: racp.Request, wire: str) -> None:
    assert racp.encode_request(request_, SIG) == H(wire)
    assert racp.decode_request(H(wire), SIG) == request_


@pytest.mark.parametrize(
    ("wire", "response"),
    [
        ("05 00 0C 00", racp.NumberResponse(12)),
        ("06 00 01 01", racp.CodeResponse(Op.REPORT, Result.SUCCESS)),
        ("06 00 01 06", racp.CodeResponse(Op.REPORT, Result.NO_RECORDS)),
        ("06 00 02 02", racp.CodeResponse(Op.DELETE, Result.OP_NOT_SUPPORTED)),
        ("06 00 01 09", racp.CodeResponse(Op.REPORT, Result.OPERAND_NOT_SUPPORTED)),
        ("06 00 01 08", racp.CodeResponse(Op.REPORT, Result.NOT_COMPLETED)),
        ("06 00 03 01", racp.CodeResponse(Op.ABORT, Result.SUCCESS)),
    ],
)
def test_sig_responses(wire: str, response: racp.Response) -> None:
    assert racp.decode_response(H(wire), SIG) == response
    assert racp.encode_response(response, SIG) == H(wire)


# IDD RACP (0x2B27): Hamming-coded values and uint32 record numbers, from
# tidepool-org/InsulinDeliveryServiceKit IDRecordAccess.swift (protocols.md section 5.10).
@pytest.mark.parametrize(
    ("request_", "wire"),
    [
        (racp.report(Operator.ALL), "33 33"),
        (racp.report_number(Operator.ALL), "5A 33"),
        (racp.report(Operator.GE, 0x0F, 1000), "33 55 0F E8 03 00 00"),
        (racp.ABORT, "55 0F"),
    ],
)
def test_idd_requests(request_: racp.Request, wire: str) -> None:
    assert racp.encode_request(request_, IDD) == H(wire)
    assert racp.decode_request(H(wire), IDD) == request_


def test_idd_responses() -> None:
    assert racp.decode_response(H("0F 0F 33 F0"), IDD) == racp.CodeResponse(
        Op.REPORT, Result.SUCCESS
    )
    assert racp.decode_response(H("66 0F 10 27 00 00"), IDD) == racp.NumberResponse(10000)


@pytest.mark.parametrize(
    "wire",
    ["06 00 01", "06 01 01 01", "05 00 0C", "07 00 01 01", "06 00 01 01 00", "06 00 01 42", ""],
)
def test_malformed_responses_raise_decode_error(wire: str) -> None:
    # Nordic's rule: op 0x05/0x06 with operator Null only; a response code is exactly 4 octets.
    with pytest.raises(DecodeError):
        racp.decode_response(H(wire), SIG)


@pytest.mark.parametrize(
    ("wire", "result"),
    [
        ("01", Result.INVALID_OPERAND),
        ("09 01", Result.OP_NOT_SUPPORTED),
        ("01 09", Result.INVALID_OPERATOR),
        ("03 01", Result.INVALID_OPERATOR),  # Abort takes the Null operator
        ("01 03 01 10", Result.INVALID_OPERAND),
        ("01 04 01 09 00 05 00", Result.INVALID_OPERAND),  # min > max
    ],
)
def test_server_refuses_bad_requests(wire: str, result: Result) -> None:
    with pytest.raises(racp.RequestRefused) as info:
        racp.decode_request(H(wire), SIG)
    assert info.value.result is result


def test_read_only_allow_list() -> None:
    assert Op.DELETE not in racp.READ_ONLY_OPS
    assert {Op.REPORT, Op.ABORT, Op.REPORT_NUMBER} == racp.READ_ONLY_OPS


@given(
    st.sampled_from([SIG, IDD]),
    st.sampled_from([Op.REPORT, Op.REPORT_NUMBER, Op.DELETE]),
    st.sampled_from([Operator.LE, Operator.GE, Operator.RANGE, Operator.ALL, Operator.LAST]),
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFF),
)
def test_request_round_trip(
    dialect: racp.Dialect, op: Op, operator: Operator, a: int, b: int
) -> None:
    values = {Operator.LE: (a,), Operator.GE: (a,), Operator.RANGE: (min(a, b), max(a, b))}
    req = racp.Request(op, operator, 0x01 if operator in values else None, values.get(operator, ()))
    assert racp.decode_request(racp.encode_request(req, dialect), dialect) == req


@given(st.sampled_from([SIG, IDD]), st.integers(0, 0xFFFF))
def test_number_response_round_trip(dialect: racp.Dialect, count: int) -> None:
    resp = racp.NumberResponse(count)
    assert racp.decode_response(racp.encode_response(resp, dialect), dialect) == resp
