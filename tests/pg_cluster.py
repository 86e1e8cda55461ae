"""A throw-away PostgreSQL cluster: for the fsync-on queue bench and the multi-host tests.

The CI server (``.ci/postgres.sh``) runs with ``fsync=off`` on 127.0.0.1 only; a bench of the
server's defaults, or hosts in other network namespaces, need a cluster started with other
settings. ``PgCluster`` runs ``initdb`` and ``pg_ctl`` (as the ``postgres`` user when root) in a
folder of the caller's, and ``stop`` removes it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
from pathlib import Path


def pg_bindir() -> Path:
    """The newest installed PostgreSQL's ``bin`` folder."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    return found[-1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PgCluster:
    """One cluster in ``data``, listening on ``listen`` (comma-separated addresses)."""

    def __init__(
        self,
        data: Path,
        listen: str = "127.0.0.1",
        settings: dict[str, str] | None = None,
        port: int | None = None,
        hba: tuple[str, ...] = (),
    ) -> None:
        self.data = data
        self.listen = listen
        self.settings = settings or {}
        self.port = port or free_port()
        self.hba = hba  # pg_hba.conf lines added to initdb's (which trusts 127.0.0.1 only)
        self.bindir = pg_bindir()
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr or done.stdout}")

    def start(self) -> PgCluster:
        shutil.rmtree(self.data, ignore_errors=True)
        self.data.mkdir(parents=True)
        if self.user:
            shutil.chown(self.data, self.user)
            self.data.chmod(0o700)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "casparian")
        if self.hba:
            with (self.data / "pg_hba.conf").open("a", encoding="utf-8") as conf:
                conf.write("".join(f"{line}\n" for line in self.hba))
        options = [f"-p {self.port}", "-k /tmp", f"-c listen_addresses={self.listen}"]
        options += [f"-c {key}={value}" for key, value in self.settings.items()]
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", " ".join(options),
            "-l", str(self.data / "server.log"), "-w", "start",
        )  # fmt: skip
        return self

    def url(self, host: str = "127.0.0.1", database: str = "postgres") -> str:
        return f"postgresql://casparian@{host}:{self.port}/{database}"

    def stop(self) -> None:
        """Stop the server (immediately: nothing in it is kept) and remove its folder."""
        with contextlib.suppress(RuntimeError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.data, ignore_errors=True)

    def __enter__(self) -> PgCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def fresh_database(admin_url: str, name: str) -> str:
    """Create (after dropping) database ``name`` on the server of ``admin_url``; its URL."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _db = admin_url.rpartition("/")
    return f"{base}/{name}"


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
