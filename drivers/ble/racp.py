"""Record Access Control Point: requests and responses, for GLS/CGMS and for IDS.

Frame: ``op code (1) | operator (1) | operand``. GLS and CGMS share one set of values
(GLS 1.0 section 3.6, CGMS 1.0.1 section 3.8; NordicSemiconductor/Android-BLE-Common-
Library ``RecordAccessControlPointData.java``) with uint16 filter values and counts. The
IDD RACP (0x2B27) has the same structure with Hamming-coded values and uint32 record
numbers (tidepool-org/InsulinDeliveryServiceKit ``IDRecordAccess.swift``). Both are a
:class:`Dialect`. A read-only collector sends only Report (0x01), Abort (0x03) and
Report Number (0x04); :data:`READ_ONLY_OPS` is that allow-list.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

from drivers._core.errors import DecodeError
from drivers.ble.reader import Reader


class Op(Enum):
    """RACP op codes by meaning (wire values differ per dialect)."""

    REPORT = "report"
    DELETE = "delete"
    ABORT = "abort"
    REPORT_NUMBER = "report-number"
    NUMBER_RESPONSE = "number-response"
    RESPONSE_CODE = "response-code"


class Operator(Enum):
    """RACP operators."""

    NULL = "null"
    ALL = "all"
    LE = "<="
    GE = ">="
    RANGE = "within"
    FIRST = "first"
    LAST = "last"


class Result(Enum):
    """RACP response code values by meaning."""

    SUCCESS = "success"
    OP_NOT_SUPPORTED = "op-code-not-supported"
    INVALID_OPERATOR = "invalid-operator"
    OPERATOR_NOT_SUPPORTED = "operator-not-supported"
    INVALID_OPERAND = "invalid-operand"
    NO_RECORDS = "no-records-found"
    ABORT_UNSUCCESSFUL = "abort-unsuccessful"
    NOT_COMPLETED = "procedure-not-completed"
    OPERAND_NOT_SUPPORTED = "operand-not-supported"
    NOT_APPLICABLE = "procedure-not-applicable"


READ_ONLY_OPS = frozenset({Op.REPORT, Op.ABORT, Op.REPORT_NUMBER})
_VALUE_COUNT = {Operator.LE: 1, Operator.GE: 1, Operator.RANGE: 2}


@dataclass(frozen=True, slots=True)
class Dialect:
    """Wire values of one RACP flavour."""

    name: str
    ops: dict[Op, int]
    operators: dict[Operator, int]
    results: dict[Result, int]
    value_width: int
    count_width: int


SIG = Dialect(
    "GLS/CGMS",
    {Op.REPORT: 1, Op.DELETE: 2, Op.ABORT: 3, Op.REPORT_NUMBER: 4,
     Op.NUMBER_RESPONSE: 5, Op.RESPONSE_CODE: 6},
    {Operator.NULL: 0, Operator.ALL: 1, Operator.LE: 2, Operator.GE: 3,
     Operator.RANGE: 4, Operator.FIRST: 5, Operator.LAST: 6},
    {Result.SUCCESS: 1, Result.OP_NOT_SUPPORTED: 2, Result.INVALID_OPERATOR: 3,
     Result.OPERATOR_NOT_SUPPORTED: 4, Result.INVALID_OPERAND: 5, Result.NO_RECORDS: 6,
     Result.ABORT_UNSUCCESSFUL: 7, Result.NOT_COMPLETED: 8, Result.OPERAND_NOT_SUPPORTED: 9},
    value_width=2,
    count_width=2,
)  # fmt: skip
IDD = Dialect(
    "IDD",
    {Op.REPORT: 0x33, Op.DELETE: 0x3C, Op.ABORT: 0x55, Op.REPORT_NUMBER: 0x5A,
     Op.NUMBER_RESPONSE: 0x66, Op.RESPONSE_CODE: 0x0F},
    {Operator.NULL: 0x0F, Operator.ALL: 0x33, Operator.LE: 0x3C, Operator.GE: 0x55,
     Operator.RANGE: 0x5A, Operator.FIRST: 0x66, Operator.LAST: 0x69},
    {Result.SUCCESS: 0xF0, Result.OP_NOT_SUPPORTED: 2, Result.INVALID_OPERATOR: 3,
     Result.OPERATOR_NOT_SUPPORTED: 4, Result.INVALID_OPERAND: 5, Result.NO_RECORDS: 6,
     Result.ABORT_UNSUCCESSFUL: 7, Result.NOT_COMPLETED: 8, Result.OPERAND_NOT_SUPPORTED: 9,
     Result.NOT_APPLICABLE: 0x0A},
    value_width=4,
    count_width=4,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Request:
    """A client -> server RACP request. ``filter_type`` and ``values`` only with
    operators that take operands (<=, >=, within range)."""

    op: Op
    operator: Operator
    filter_type: int | None = None
    values: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class NumberResponse:
    """Number of Stored Records Response."""

    count: int


@dataclass(frozen=True, slots=True)
class CodeResponse:
    """Response Code: the request op code it answers and the result."""

    request: Op
    result: Result


Response = NumberResponse | CodeResponse


class RequestRefused(DecodeError):
    """A server could not accept a request; ``result`` is what it should answer."""

    def __init__(self, message: str, *, result: Result, request: Op | None = None) -> None:
        super().__init__(message, result=result.value)
        self.result = result
        self.request = request


E = TypeVar("E", bound=Enum)


def _value(table: dict[E, int], raw: int) -> E | None:
    return next((k for k, v in table.items() if v == raw), None)


def encode_request(req: Request, dialect: Dialect = SIG) -> bytes:
    """Request -> octets. ``report(GE, 0x01, 120)`` in SIG is ``01 03 01 78 00``."""
    out = bytes((dialect.ops[req.op], dialect.operators[req.operator]))
    needed = _VALUE_COUNT.get(req.operator, 0)
    if len(req.values) != needed or (needed and req.filter_type is None):
        raise ValueError(f"operator {req.operator.value} takes {needed} filter values")
    if needed:
        assert req.filter_type is not None
        out += bytes((req.filter_type,))
        out += b"".join(v.to_bytes(dialect.value_width, "little") for v in req.values)
    return out


def decode_request(data: bytes, dialect: Dialect = SIG) -> Request:
    """Octets -> Request (the server side). Raises :class:`RequestRefused`."""
    if len(data) < 2:
        raise RequestRefused("RACP request shorter than 2 octets", result=Result.INVALID_OPERAND)
    op = _value(dialect.ops, data[0])
    if op is None or op in (Op.NUMBER_RESPONSE, Op.RESPONSE_CODE):
        raise RequestRefused(f"op code 0x{data[0]:02X}", result=Result.OP_NOT_SUPPORTED)
    operator = _value(dialect.operators, data[1])
    if operator is None or (op is Op.ABORT) != (operator is Operator.NULL):
        raise RequestRefused(
            f"operator 0x{data[1]:02X}", result=Result.INVALID_OPERATOR, request=op
        )
    needed = _VALUE_COUNT.get(operator, 0)
    reader = Reader(data[2:], "RACP request")
    if needed == 0:
        if reader.remaining:
            raise RequestRefused("unexpected operand", result=Result.INVALID_OPERAND, request=op)
        return Request(op, operator)
    if reader.remaining != 1 + needed * dialect.value_width:
        raise RequestRefused("operand length", result=Result.INVALID_OPERAND, request=op)
    filter_type = reader.u8("filter type")
    values = tuple(reader.uint(dialect.value_width, "filter value") for _ in range(needed))
    if operator is Operator.RANGE and values[0] > values[1]:
        raise RequestRefused("range min > max", result=Result.INVALID_OPERAND, request=op)
    return Request(op, operator, filter_type, values)


def encode_response(resp: Response, dialect: Dialect = SIG) -> bytes:
    """Response -> octets: ``06 00 01 01`` = report completed, ``05 00 0C 00`` = 12 records."""
    null = dialect.operators[Operator.NULL]
    if isinstance(resp, NumberResponse):
        op = dialect.ops[Op.NUMBER_RESPONSE]
        return bytes((op, null)) + resp.count.to_bytes(dialect.count_width, "little")
    op = dialect.ops[Op.RESPONSE_CODE]
    return bytes((op, null, dialect.ops[resp.request], dialect.results[resp.result]))


def decode_response(data: bytes, dialect: Dialect = SIG) -> Response:
    """Octets -> Response, by Nordic's rule: only ops 0x05/0x06 with the Null operator;
    a count of exactly ``count_width`` octets; a response code of exactly 4 octets."""
    reader = Reader(data, f"{dialect.name} RACP indication")
    op_raw, operator_raw = reader.u8("op code"), reader.u8("operator")
    if operator_raw != dialect.operators[Operator.NULL]:
        raise DecodeError(f"RACP response with operator 0x{operator_raw:02X}", frame=data.hex())
    if op_raw == dialect.ops[Op.NUMBER_RESPONSE]:
        count = reader.uint(dialect.count_width, "record count")
        reader.end()
        return NumberResponse(count)
    if op_raw == dialect.ops[Op.RESPONSE_CODE]:
        req_raw, res_raw = reader.u8("request op code"), reader.u8("response code")
        reader.end()
        request = _value(dialect.ops, req_raw)
        result = _value(dialect.results, res_raw)
        if request is None or result is None:
            raise DecodeError(f"RACP response code {data.hex(' ')} is undefined", frame=data.hex())
        return CodeResponse(request, result)
    raise DecodeError(f"RACP indication with op code 0x{op_raw:02X}", frame=data.hex())


def report(operator: Operator, filter_type: int | None = None, *values: int) -> Request:
    """A Report Stored Records request."""
    return Request(Op.REPORT, operator, filter_type if values else None, values)


def report_number(operator: Operator, filter_type: int | None = None, *values: int) -> Request:
    """A Report Number of Stored Records request."""
    return Request(Op.REPORT_NUMBER, operator, filter_type if values else None, values)


ABORT = Request(Op.ABORT, Operator.NULL)
