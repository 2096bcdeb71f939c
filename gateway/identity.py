"""Site-scoped pseudonyms: the only patient and device identifiers that leave a gateway.

A pseudonym is an HMAC-SHA256 of the site name and the local identity under the site's
secret key, so the same patient gets the same pseudonym at every upload of that site,
another site cannot link it, and the care record never learns a name or MRN. The key
is generated on first use and kept beside the store (``site.key``, mode 0600).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

PSEUDONYM_PREFIX = "p-"
_PSEUDONYM_CHARS = 16


def _digest(secret: bytes, *parts: str) -> str:
    mac = hmac.new(secret, "\x00".join(parts).encode("utf-8"), hashlib.sha256).digest()
    return base64.b32encode(mac).decode("ascii").lower()


def patient_pseudonym(secret: bytes, site: str, local_id: str) -> str:
    """``p-`` + 16 base32 characters (80 bits) of HMAC(secret, site, local_id).

    >>> key = b"k" * 32
    >>> a = patient_pseudonym(key, "clinic-a", "MRN-1")
    >>> b = patient_pseudonym(key, "clinic-b", "MRN-1")
    >>> a == patient_pseudonym(key, "clinic-a", "MRN-1"), a == b
    (True, False)
    >>> a.startswith("p-") and "MRN" not in a and len(a)
    18
    """
    return PSEUDONYM_PREFIX + _digest(secret, "patient", site, local_id)[:_PSEUDONYM_CHARS]


def device_pseudonym(secret: bytes, site: str, device_id: str) -> str:
    """Keep manufacturer and model, replace the serial: ``dexcom:g6:d-<12 chars>``.

    Device serial numbers are identifiers under HIPAA's Safe Harbor list, so they are
    pseudonymised like patients before a record leaves the gateway.
    """
    manufacturer, _, rest = device_id.partition(":")
    model, _, serial = rest.partition(":")
    return f"{manufacturer}:{model}:d-{_digest(secret, 'device', site, serial)[:12]}"


def load_or_create_secret(path: str | Path) -> bytes:
    """Read the site key, or create a new random one (32 bytes, file mode 0600)."""
    path = Path(path)
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key
