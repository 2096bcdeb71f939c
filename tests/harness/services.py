"""Real servers for the integration tests: Mosquitto and VictoriaMetrics on loopback.

Each server runs as a child process on a free 127.0.0.1 port with its own temporary
config and data directory, so test runs never touch the machine's own services and
two pytest workers never share a broker. ``make test`` installs the Debian packages;
with ``GLUCOGATE_REQUIRE_SERVICES=1`` (set by ``make test``) a missing binary fails the
run instead of skipping the integration tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_binary(name: str, *extra_dirs: str) -> str | None:
    """Locate a server binary on PATH or in the Debian package's sbin dirs."""
    found = shutil.which(name)
    if found:
        return found
    for d in (*extra_dirs, "/usr/sbin", "/usr/bin"):
        candidate = Path(d) / name
        if candidate.exists():
            return str(candidate)
    return None


def _wait_tcp(port: int, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not listen on port {port}: {log.read_text()[-2000:]}")


class Mosquitto:
    """A Mosquitto broker on loopback; ``stop()``/``start()`` simulate an outage."""

    def __init__(self, workdir: Path, *, port: int | None = None, extra_conf: str = "") -> None:
        binary = find_binary("mosquitto")
        if binary is None:
            raise FileNotFoundError("mosquitto not installed (make test installs it)")
        self.binary = binary
        self.workdir = workdir
        self.port = port or free_port()
        self.extra_conf = extra_conf
        self.proc: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)
        self.conf = workdir / "mosquitto.conf"
        self.log = workdir / "mosquitto.log"

    def start(self) -> Mosquitto:
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence false\n"
            "log_type error\nlog_type warning\n"
            f"{self.extra_conf}\n"
        )
        with self.log.open("ab") as logf:
            self.proc = subprocess.Popen(
                [self.binary, "-c", str(self.conf)], stdout=logf, stderr=subprocess.STDOUT
            )
        _wait_tcp(self.port, self.proc, self.log)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class VictoriaMetrics:
    """VictoriaMetrics single-node on loopback: accepts InfluxDB line-protocol writes."""

    def __init__(self, workdir: Path) -> None:
        binary = find_binary("victoria-metrics")
        if binary is None:
            raise FileNotFoundError("victoria-metrics not installed (make test installs it)")
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "victoria-metrics.log"
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> VictoriaMetrics:
        with self.log.open("ab") as logf:
            self.proc = subprocess.Popen(
                [
                    self.binary,
                    f"-storageDataPath={self.workdir / 'data'}",
                    f"-httpListenAddr=127.0.0.1:{self.port}",
                    "-retentionPeriod=100y",
                    "-search.disableCache",
                ],
                stdout=logf,
                stderr=subprocess.STDOUT,
            )
        _wait_tcp(self.port, self.proc, self.log)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as resp:
                    if resp.read().strip() == b"OK":
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise RuntimeError(f"victoria-metrics not healthy: {self.log.read_text()[-2000:]}")

    def flush(self) -> None:
        """Make recently written samples visible to queries."""
        with urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=10) as resp:
            resp.read()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def services_required() -> bool:
    """True under ``make test``: missing servers fail the run instead of skipping."""
    return os.environ.get("GLUCOGATE_REQUIRE_SERVICES") == "1"
