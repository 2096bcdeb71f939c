"""Read back what a VictoriaMetrics server stored (its JSON-lines export API)."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any


def export_series(url: str, match: str) -> list[dict[str, Any]]:
    """Every series matching a PromQL selector, with values and millisecond timestamps."""
    query = urllib.parse.urlencode({"match[]": match})
    with urllib.request.urlopen(f"{url}/api/v1/export?{query}", timeout=10) as resp:
        return [json.loads(line) for line in resp.read().splitlines() if line.strip()]
