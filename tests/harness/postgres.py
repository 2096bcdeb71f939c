"""A real PostgreSQL server (Debian's ``postgresql`` package) for the test session.

Started with ``initdb`` + ``pg_ctl`` in a temporary directory on a free loopback port,
trust authentication, no Unix socket outside that directory. ``initdb`` refuses to run
as root, so under root the server runs as the package's ``postgres`` system user (or
``glucogate-test``, created if neither exists) via ``runuser``.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.harness.services import free_port


def pg_bindir() -> Path | None:
    """Where ``pg_ctl`` lives: Debian keeps it in /usr/lib/postgresql/<major>/bin."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_major, reverse=True)
    if found:
        return Path(found[0]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).resolve().parent if on_path else None


def _major(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


def _run_as() -> list[str]:
    if os.geteuid() != 0:
        return []
    for user in ("postgres", "glucogate-test"):
        try:
            pwd.getpwnam(user)
            return ["runuser", "-u", user, "--"]
        except KeyError:
            continue
    subprocess.run(
        [
            "useradd",
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            "glucogate-test",
        ],
        check=True,
    )
    return ["runuser", "-u", "glucogate-test", "--"]


class PostgreSQL:
    """One cluster; :meth:`new_database` gives each test an empty database."""

    USER = "glucogate"

    def __init__(self) -> None:
        bindir = pg_bindir()
        if bindir is None:
            raise FileNotFoundError("PostgreSQL not installed (make test installs it)")
        self.bindir = bindir
        self.port = free_port()
        self.prefix = _run_as()
        # not under pytest's per-user temp dir: root's is mode 0700, the server user
        # could not reach it
        self.root = Path(tempfile.mkdtemp(prefix="glucogate-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._names = itertools.count(1)
        if self.prefix:
            user = self.prefix[2]
            shutil.chown(self.root, user, user)
        self.root.chmod(0o700)

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.USER}@127.0.0.1:{self.port}/postgres"

    def _pg(self, tool: str, *args: str) -> None:
        proc = subprocess.run(
            [*self.prefix, str(self.bindir / tool), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} failed: {proc.stdout}{proc.stderr}{log}")

    def start(self) -> PostgreSQL:
        self._pg(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            self.USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port}"
            f" -c unix_socket_directories={self.root} -c fsync=off"
        )
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        return self

    def new_database(self) -> str:
        """A fresh, empty database; returns its DSN."""
        import psycopg

        name = f"t{next(self._names)}"
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql://{self.USER}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
