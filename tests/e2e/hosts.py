"""Machines on this machine: network + UTS namespaces, bridged to the test's own PostgreSQL.

``Bridge`` is a Linux bridge in the root namespace carrying a private /24; the test's own
PostgreSQL cluster listens on its address (and 127.0.0.1). Each ``Host`` is a network namespace
with a veth into that bridge, its loopback up and nothing else: no route leaves it, so its traffic
reaches only loopback, the bridge and the other hosts. A host runs ``casparian worker`` under
``unshare --uts`` with its own hostname, home, and uv cache. ``remove`` undoes everything, and is
safe to call on a half-built host.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from tests.engine.cli_support import CASPARIAN


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def namespaces_supported() -> str | None:
    """Why hosts cannot be made here (None: they can)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    try:
        ip("netns", "list")
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"`ip netns` does not work here: {exc}"
    return None


@dataclass
class Bridge:
    """A bridge with a private /24; ``gateway`` is the root namespace's address on it."""

    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    octets: tuple[int, int] = field(
        default_factory=lambda: (random.randint(200, 250), random.randint(1, 250))
    )

    @property
    def name(self) -> str:
        return f"cfbr{self.tag}"

    @property
    def subnet(self) -> str:
        return f"10.{self.octets[0]}.{self.octets[1]}.0/24"

    @property
    def gateway(self) -> str:
        return f"10.{self.octets[0]}.{self.octets[1]}.1"

    def address(self, index: int) -> str:
        return f"10.{self.octets[0]}.{self.octets[1]}.{10 + index}"

    def up(self) -> Bridge:
        ip("link", "add", self.name, "type", "bridge")
        ip("addr", "add", f"{self.gateway}/24", "dev", self.name)
        ip("link", "set", self.name, "up")
        return self

    def remove(self) -> None:
        ip("link", "del", self.name, check=False)


@dataclass
class Host:
    """One worker machine: a namespace, its veth into the bridge, its own folders."""

    bridge: Bridge
    index: int
    hostname: str
    root: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def netns(self) -> str:
        return f"cf{self.bridge.tag}{self.index}"

    @property
    def veth_outside(self) -> str:
        return f"cfv{self.bridge.tag}{self.index}h"

    @property
    def veth_inside(self) -> str:
        return f"cfv{self.bridge.tag}{self.index}n"

    @property
    def home(self) -> Path:
        return self.root / "casparian"

    @property
    def stderr_path(self) -> Path:
        return self.root / "worker.stderr"

    def create(self) -> Host:
        self.root.mkdir(parents=True, exist_ok=True)
        ip("netns", "add", self.netns)
        ip("link", "add", self.veth_outside, "type", "veth", "peer", "name", self.veth_inside)
        ip("link", "set", self.veth_inside, "netns", self.netns)
        ip("link", "set", self.veth_outside, "master", self.bridge.name)
        ip("link", "set", self.veth_outside, "up")
        address = f"{self.bridge.address(self.index)}/24"
        ip("-n", self.netns, "addr", "add", address, "dev", self.veth_inside)
        ip("-n", self.netns, "link", "set", self.veth_inside, "up")
        ip("-n", self.netns, "link", "set", "lo", "up")
        return self

    def start_worker(self, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        """``casparian worker ARGS`` inside this host, with its hostname, home and caches."""
        host_env = {
            **env,
            "HOME": str(self.root),
            "CASPARIAN_HOME": str(self.home),
            "UV_CACHE_DIR": str(self.root / "uv-cache"),
        }
        command = [
            "ip", "netns", "exec", self.netns, "unshare", "--uts", "--",
            "sh", "-c", 'hostname "$0" && exec "$@"', self.hostname,
            CASPARIAN, "worker", *args,
        ]  # fmt: skip
        with self.stderr_path.open("ab") as stderr:
            self.process = subprocess.Popen(
                command, env=host_env, stdout=subprocess.DEVNULL, stderr=stderr
            )
        return self.process

    def processes(self) -> list[psutil.Process]:
        """Every live process of this host: its worker host, workers and their guests."""
        if self.process is None:
            return []
        try:
            top = psutil.Process(self.process.pid)
            return [top, *top.children(recursive=True)]
        except psutil.Error:
            return []

    def signal_all(self, signum: int) -> list[int]:
        """Send ``signum`` to every process of this host at once; their pids."""
        found = self.processes()
        for process in found:
            with contextlib.suppress(psutil.Error):
                process.send_signal(signum)
        return [p.pid for p in found]

    def link(self, state: str) -> None:
        """Take this host's network ``down`` (cut from PostgreSQL) or back ``up``."""
        ip("link", "set", self.veth_outside, state)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def remove(self) -> None:
        """Kill what still runs here, then delete the namespace and its links."""
        left = self.processes()
        for process in left:
            with contextlib.suppress(psutil.Error):
                process.send_signal(signal.SIGCONT)
                process.kill()
        psutil.wait_procs(left, timeout=30)
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(30)
        ip("netns", "del", self.netns, check=False)
        ip("link", "del", self.veth_outside, check=False)
