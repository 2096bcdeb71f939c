"""GATT UUIDs of the three diabetes profiles, as bleak spells them (128-bit, lower case).

16-bit SIG UUIDs expand to ``0000xxxx-0000-1000-8000-00805f9b34fb`` (Bluetooth Core
Specification Vol 3 Part B 2.5.1). Numbers from the Bluetooth SIG Assigned Numbers
and shared/reference/protocols.md section 3.
"""

from __future__ import annotations


def uuid16(short: int) -> str:
    """Expand a 16-bit SIG UUID to the 128-bit form bleak uses.

    >>> uuid16(0x181F)
    '0000181f-0000-1000-8000-00805f9b34fb'
    """
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


# Services
CGM_SERVICE = uuid16(0x181F)
GLUCOSE_SERVICE = uuid16(0x1808)
INSULIN_DELIVERY_SERVICE = uuid16(0x183A)
DEVICE_INFORMATION_SERVICE = uuid16(0x180A)

# Shared
RACP = uuid16(0x2A52)
"""Record Access Control Point (GLS and CGMS)."""
DATE_TIME = uuid16(0x2A08)

# Device Information strings
MANUFACTURER_NAME = uuid16(0x2A29)
MODEL_NUMBER = uuid16(0x2A24)
SERIAL_NUMBER = uuid16(0x2A25)
FIRMWARE_REVISION = uuid16(0x2A26)

# CGM Service
CGM_MEASUREMENT = uuid16(0x2AA7)
CGM_FEATURE = uuid16(0x2AA8)
CGM_STATUS = uuid16(0x2AA9)
CGM_SESSION_START_TIME = uuid16(0x2AAA)
CGM_SESSION_RUN_TIME = uuid16(0x2AAB)
CGM_SOCP = uuid16(0x2AAC)
"""CGM Specific Ops Control Point: never written by the read-only driver."""

# Glucose Service
GLUCOSE_MEASUREMENT = uuid16(0x2A18)
GLUCOSE_CONTEXT = uuid16(0x2A34)
GLUCOSE_FEATURE = uuid16(0x2A51)

# Insulin Delivery Service
IDD_STATUS_CHANGED = uuid16(0x2B20)
IDD_STATUS = uuid16(0x2B21)
IDD_ANNUNCIATION_STATUS = uuid16(0x2B22)
IDD_FEATURES = uuid16(0x2B23)
IDD_STATUS_READER_CP = uuid16(0x2B24)
IDD_COMMAND_CP = uuid16(0x2B25)
"""IDD Command Control Point: therapy commands; never written by the driver."""
IDD_COMMAND_DATA = uuid16(0x2B26)
IDD_RACP = uuid16(0x2B27)
IDD_HISTORY_DATA = uuid16(0x2B28)
