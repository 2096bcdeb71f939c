"""Home-hub benchmark: start time and idle memory of ``glucogate sync``.

Data: a hub configured with the three simulated BLE devices of the demo (a CGM with a
day of 5-min readings, a meter, a pump; ``simulators.ble.backend`` stands in for the
adapter) and a fresh SQLite store; no broker (the outbox keeps what it cannot send).
Measured in one run on this machine, each next to a peer in the same run:

(a) **start**: wall time from ``exec`` to the end of ``glucogate sync --once`` with one
    absent USB device configured (import, config, store open and migrate, status), next to
    ``python -c pass`` (the interpreter alone) and ``python -c "import numpy, scipy"``
    (what every glucogate process pays for the analytics);
(b) **first pass**: ``glucogate sync --once`` over the three devices (read, store,
    metrics);
(c) **idle RSS**: the long-running ``glucogate sync`` after its first pass, sleeping
    until the next interval (VmRSS from /proc, max over 3 s), next to the interpreter
    alone sleeping.

Goals (issue 10): start <= 2 s; idle RSS <= 80 MB (a 1 GB Raspberry Pi).
Run: ``.venv/bin/python bench/hub_bench.py``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from simulators.ble.demo import CGM_ADDRESS, METER_ADDRESS, PUMP_ADDRESS

REPEATS = 5
BACKEND = "simulators.ble.backend:SimulatedClientBackend"


def _config(tmp: Path, devices: bool) -> Path:
    text = (
        f'[gateway]\nsite = "bench-home"\nid = "hub-1"\ndata_dir = "{tmp / "data"}"\n'
        f'[hub]\ninterval_s = 300\nble_scan_s = 0.05\nble_backend = "{BACKEND}"\n'
    )
    if not devices:  # one absent USB device: the pass finds nothing to read
        text += '[[hub.devices]]\nname = "rx"\nport = "/dev/glucogate-absent"\n'
        text += 'driver = "dexcom-receiver"\n'
    else:
        for name, address, kind in (
            ("cgm", CGM_ADDRESS, "cgm"),
            ("meter", METER_ADDRESS, "meter"),
            ("pump", PUMP_ADDRESS, "pump"),
        ):
            text += f'[[hub.devices]]\nname = "{name}"\nble = "{address}"\nkind = "{kind}"\n'
    path = tmp / ("hub.toml" if devices else "empty.toml")
    path.write_text(text)
    return path


def _wall(cmd: list[str]) -> float:
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=False, capture_output=True)  # 4: a device unavailable
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _idle_rss(cmd: list[str], ready_marker: str | None) -> float:
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        assert proc.stderr is not None
        if ready_marker is not None:
            while ready_marker not in proc.stderr.readline():
                assert proc.poll() is None, "the hub exited"
        else:
            time.sleep(0.5)
        peak = 0.0
        for _ in range(30):
            peak = max(peak, _rss_mb(proc.pid))
            time.sleep(0.1)
        return peak
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    py = sys.executable
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        empty, full = _config(tmp, False), _config(tmp, True)
        cli = [py, "-m", "gateway.cli"]
        start = _wall([*cli, "--config", str(empty), "sync", "--once"])
        bare = _wall([py, "-c", "pass"])
        numeric = _wall([py, "-c", "import numpy, scipy.signal, scipy.stats"])
        first_pass = _wall([*cli, "--config", str(full), "sync", "--once"])
        rss = _idle_rss([*cli, "--config", str(full), "-v", "sync"], "event=sync")
        rss_bare = _idle_rss([py, "-c", "import time; time.sleep(30)"], None)
    print(f"hub benchmark: 3 simulated BLE devices, median of {REPEATS} runs, 2-core machine")
    print(f"{'':<58}{'value':>9}{'peer':>9}{'ratio':>8}")
    print(
        f"{'(a) start: sync --once, absent device (s) / python -c pass':<58}"
        f"{start:>9.2f}{bare:>9.2f}{start / bare:>7.1f}x"
    )
    print(
        f"{'    same / python -c import numpy, scipy (s)':<58}"
        f"{start:>9.2f}{numeric:>9.2f}{start / numeric:>7.1f}x"
    )
    print(f"{'(b) first pass over 3 devices, sync --once (s)':<58}{first_pass:>9.2f}")
    print(
        f"{'(c) idle RSS after a pass (MB) / bare interpreter':<58}"
        f"{rss:>9.1f}{rss_bare:>9.1f}{rss / rss_bare:>7.1f}x"
    )
    print(
        f"goals: start <= 2 s: {'met' if start <= 2 else 'MISSED'};"
        f" idle RSS <= 80 MB: {'met' if rss <= 80 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
