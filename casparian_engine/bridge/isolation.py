"""What isolation this machine gives a guest, and the pieces that apply it.

* **Sandbox**: bubblewrap (``bwrap``) puts each guest in its own PID, IPC, UTS, network and mount
  namespaces with no capabilities. The guest is PID 1 of its namespace (so it sees no host
  process and has no visible parent), sees a read-only view of the system's ``/usr``, its Python
  and site-packages, the shim, its parser and the input folders, a writable private directory, and
  nothing else: not the home (store, outputs, other parsers), not ``/etc/shadow``, not ``/root``.
  With no network namespace of its own it has only a loopback device with nothing listening.
* **Memory**: a cgroup per guest with a memory limit (cgroup v2 where the memory controller can
  be delegated, else cgroup v1's memory controller), or ``RLIMIT_AS`` where neither is writable.
* **Children**: the guest's cgroup (v2 ``cgroup.kill`` or each PID of a v1 cgroup) is emptied
  when the guest ends; in the sandbox the guest, as PID 1, kills every other process of its
  namespace after each file, and the kernel kills them all when it exits.

``detect`` probes once per process; ``casparian doctor`` prints the result.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import CasparianError

CGROUP_ROOT = Path("/sys/fs/cgroup")
SANDBOX_MODES = ("required", "warn", "off")
MAX_INPUT_ROOTS = 64
SYSTEM_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/nsswitch.conf",
)
_guest_counter = itertools.count(1)


class SandboxUnavailable(CasparianError, RuntimeError):
    """The setting requires a sandbox and this machine cannot give one; the message says why."""


@dataclass(frozen=True)
class Isolation:
    """What this machine gives a guest."""

    bwrap: str  # the bubblewrap binary, "" when the sandbox is unavailable
    sandbox_problem: str  # why there is no sandbox ("" when there is one)
    memory: str  # "cgroup v2", "cgroup v1", "RLIMIT_AS"
    memory_parent: Path | None  # where per-guest memory cgroups are made
    kill_parent: Path | None  # where per-guest cgroup v2 groups (cgroup.kill) are made
    total_memory_mb: int

    @property
    def sandboxed(self) -> bool:
        return bool(self.bwrap)

    def lines(self) -> list[str]:
        """A description for ``casparian doctor``."""
        if self.sandboxed:
            sandbox = (
                f"bubblewrap ({self.bwrap}): own PID, IPC, UTS, network and mount namespaces, "
                "no capabilities, read-only Python and inputs, private writable temp dir"
            )
        else:
            sandbox = f"NONE — {self.sandbox_problem}"
        children = (
            "killed after each file (PID namespace) and with the guest's cgroup"
            if self.sandboxed
            else "killed with the guest's process group"
            + (" and cgroup" if self.kill_parent or self.memory_parent else "")
            + " when the guest ends"
        )
        network = (
            "none (own network namespace) unless the parser was registered with --allow network"
            if self.sandboxed
            else "the host's network (no namespace); connect() is refused in Python only"
        )
        memory_where = self.memory_parent or "per process"
        return [
            f"sandbox:  {sandbox}",
            f"memory:   {self.memory} ({memory_where}); machine RAM {self.total_memory_mb:,} MB",
            f"children: {children}",
            f"network:  {network}",
            "env:      scrubbed to an allow-list (setting guest_env_allow)",
        ]


def _own_cgroup(kind: str) -> str | None:
    """This process's cgroup path for a v1 controller (``memory``) or v2 (``""``)."""
    try:
        lines = Path("/proc/self/cgroup").read_text(encoding="ascii").splitlines()
    except OSError:
        return None
    for line in lines:
        _id, controllers, path = line.split(":", 2)
        if (kind == "" and _id == "0" and controllers == "") or kind in controllers.split(","):
            return path
    return None


def _v2_mount() -> Path | None:
    for candidate in (CGROUP_ROOT / "unified", CGROUP_ROOT):
        if (candidate / "cgroup.controllers").is_file():
            return candidate
    return None


def _writable_group(parent: Path, needed_file: str) -> bool:
    """Whether a child group made under ``parent`` has ``needed_file`` (then removed again)."""
    probe = parent / f"casparian-probe-{os.getpid()}"
    try:
        probe.mkdir()
    except OSError:
        return False
    try:
        return (probe / needed_file).exists()
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()


def _total_memory_mb() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    except (ValueError, OSError):
        return 0


def bwrap_base_args(allow_network: bool = False) -> list[str]:
    """Namespaces, capabilities and life-cycle options every sandbox gets."""
    args = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if not allow_network:
        args.append("--unshare-net")
    return [*args, "--die-with-parent", "--as-pid-1", "--cap-drop", "ALL"]


def _system_args() -> list[str]:
    """The read-only system view: ``/usr`` (and the /bin, /lib links into it), the loader cache."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in SYSTEM_FILES:
        if Path(name).exists():
            args += ["--ro-bind", name, name]
    return [*args, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]


@functools.cache
def detect() -> Isolation:
    """Probe bubblewrap and cgroups once per process."""
    bwrap, problem = "", ""
    if not sys.platform.startswith("linux"):
        problem = f"the sandbox needs Linux (bubblewrap); this is {sys.platform}"
    elif (found := shutil.which("bwrap")) is None:
        problem = "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    else:
        try:
            probe = subprocess.run(
                [found, *bwrap_base_args(), *_system_args(), "--", "/usr/bin/true"],
                capture_output=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            problem = f"bubblewrap cannot start: {exc}"
        else:
            if probe.returncode == 0:
                bwrap = found
            else:
                error = probe.stderr.decode("utf-8", "replace").strip()[:300]
                problem = f"bubblewrap cannot create namespaces here ({error or 'no message'})"
    memory, memory_parent, kill_parent = "RLIMIT_AS", None, None
    v2 = _v2_mount()
    v2_path = _own_cgroup("")
    if v2 is not None and v2_path is not None:
        own = v2 / v2_path.lstrip("/")
        if _writable_group(own, "cgroup.kill"):
            kill_parent = own
            if _writable_group(own, "memory.max"):
                memory, memory_parent = "cgroup v2", own
    v1_path = _own_cgroup("memory")
    if memory_parent is None and v1_path is not None:
        own = CGROUP_ROOT / "memory" / v1_path.lstrip("/")
        if _writable_group(own, "memory.limit_in_bytes"):
            memory, memory_parent = "cgroup v1", own
    for parent in {memory_parent, kill_parent} - {None}:
        _remove_abandoned_groups(parent)  # type: ignore[arg-type]
    return Isolation(bwrap, problem, memory, memory_parent, kill_parent, _total_memory_mb())


def _remove_abandoned_groups(parent: Path) -> None:
    """Remove empty guest groups left by a host that was killed (its PID is in the name)."""
    for group in parent.glob("casparian-guest-*"):
        host_pid = group.name.split("-")[2]
        if host_pid.isdigit() and not Path(f"/proc/{host_pid}").exists():
            with contextlib.suppress(OSError):
                group.rmdir()  # fails, harmlessly, while a process is still inside


def memory_limit_mb(configured: int, fraction: float, workers: int, total_mb: int) -> int:
    """The per-guest limit: the setting when > 0; 0 picks ``fraction`` of RAM over the workers."""
    if configured > 0:
        return configured
    if configured < 0 or total_mb <= 0:
        return 0
    return max(256, int(total_mb * fraction / max(1, workers)))


def input_roots(
    paths: Iterable[str | os.PathLike[str]], folders: Iterable[Path] = ()
) -> list[Path]:
    """The fewest folders that hold every input file and ``folders`` (at most
    ``MAX_INPUT_ROOTS``), for binding read-only into a sandbox."""
    folders = {Path(path).resolve().parent for path in paths} | set(folders)
    while len(folders) > MAX_INPUT_ROOTS:
        deepest = max(len(folder.parts) for folder in folders)
        folders = {f.parent if len(f.parts) == deepest else f for f in folders}
    kept: list[Path] = []
    for folder in sorted(folders, key=lambda f: len(f.parts)):
        if not any(folder == root or folder.is_relative_to(root) for root in kept):
            kept.append(folder)
    return sorted(kept)


def covers(roots: Sequence[Path], path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` lies under one of ``roots``."""
    resolved = Path(path).resolve()
    return any(resolved.is_relative_to(root) for root in roots)


def python_roots(python: str) -> list[Path]:
    """The folders a guest interpreter needs: its environment and the base installation."""
    interpreter = Path(python)
    environment = interpreter.parent.parent
    roots = {environment.absolute()}
    config = environment / "pyvenv.cfg"
    if config.is_file():
        for line in config.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home" and value.strip():
                roots.add(Path(value.strip()).resolve().parent)
    roots.add(interpreter.resolve().parent.parent)
    for site_packages in environment.glob("lib/python*/site-packages"):
        roots.update(_pth_folders(site_packages))
    return sorted(roots)


def _pth_folders(site_packages: Path) -> set[Path]:
    """Folders that ``.pth`` files add to the path (editable installs, the shared runtime), and
    the folders their symbolic links point into."""
    found: set[Path] = set()
    for pth in sorted(site_packages.glob("*.pth"))[:MAX_INPUT_ROOTS]:
        try:
            lines = pth.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines[:MAX_INPUT_ROOTS]:
            folder = Path(line.strip())
            if line.startswith(("#", "import")) or not folder.is_absolute() or not folder.is_dir():
                continue
            found.add(folder)
            for entry in itertools.islice(folder.iterdir(), 1000):
                if entry.is_symlink():
                    found.add(entry.resolve().parent)
    return found


def sandbox_command(
    isolation: Isolation,
    command: Sequence[str],
    *,
    python: str,
    readable: Sequence[Path],
    writable: Path,
    hidden: Sequence[Path] = (),
    allow_network: bool = False,
) -> list[str]:
    """``command`` wrapped in bubblewrap: system and ``readable`` read-only, ``writable`` not.

    ``hidden`` folders (the Casparian home) are covered by an empty tmpfs if a readable folder
    contains them; the parser, its Python and the private directory are bound again on top.
    """
    args = [isolation.bwrap, *bwrap_base_args(allow_network), *_system_args()]
    for root in readable:
        if root.exists():
            args += ["--ro-bind", str(root), str(root)]
    for folder in hidden:
        if folder.is_dir() and any(folder.is_relative_to(r) for r in readable if r != folder):
            args += ["--tmpfs", str(folder)]
    for root in python_roots(python):
        if root.exists():
            args += ["--ro-bind", str(root), str(root)]
    for root in readable:
        if any(root.is_relative_to(folder) for folder in hidden) and root.exists():
            args += ["--ro-bind", str(root), str(root)]
    args += ["--bind", str(writable), str(writable), "--chdir", str(writable), "--"]
    return [*args, *command]


class GuestCgroups:
    """The cgroups of one guest: a memory limit, and a group whose processes die with it."""

    def __init__(self, isolation: Isolation, limit_mb: int) -> None:
        self.limit_mb = limit_mb
        self.groups: list[Path] = []
        self.memory: Path | None = None
        name = f"casparian-guest-{os.getpid()}-{next(_guest_counter)}"
        if limit_mb > 0 and isolation.memory_parent is not None:
            self.memory = self._make(isolation.memory_parent / name)
            if self.memory is not None:
                limit = str(limit_mb * 1024 * 1024)
                limit_file = (
                    "memory.max" if isolation.memory == "cgroup v2" else ("memory.limit_in_bytes")
                )
                try:
                    (self.memory / limit_file).write_text(limit)
                except OSError:
                    self.memory = None
                else:  # no way around the limit through swap
                    with contextlib.suppress(OSError):
                        if isolation.memory == "cgroup v2":
                            (self.memory / "memory.swap.max").write_text("0")
                        else:
                            (self.memory / "memory.memsw.limit_in_bytes").write_text(limit)
        if isolation.kill_parent is not None and isolation.kill_parent != isolation.memory_parent:
            self._make(isolation.kill_parent / name)

    def _make(self, path: Path) -> Path | None:
        try:
            path.mkdir()
        except OSError:
            return None
        self.groups.append(path)
        return path

    @property
    def rlimit_needed(self) -> bool:
        """Whether the limit must fall back to RLIMIT_AS (no memory cgroup for this guest)."""
        return self.limit_mb > 0 and self.memory is None

    def join(self) -> None:
        """Move the calling process into every group (runs in the child before exec)."""
        for group in self.groups:
            with contextlib.suppress(OSError):
                (group / "cgroup.procs").write_text(str(os.getpid()))

    def memory_killed(self) -> bool:
        """Whether the kernel killed a process of this guest for its memory limit."""
        if self.memory is None:
            return False
        for name in ("memory.events", "memory.oom_control"):
            with contextlib.suppress(OSError):
                for line in (self.memory / name).read_text(encoding="ascii").splitlines():
                    key, _, value = line.partition(" ")
                    if key == "oom_kill" and value.strip() not in ("", "0"):
                        return True
        return False

    def pids(self) -> list[int]:
        found: set[int] = set()
        for group in self.groups:
            with contextlib.suppress(OSError, ValueError):
                text = (group / "cgroup.procs").read_text(encoding="ascii")
                found.update(int(pid) for pid in text.split())
        return sorted(found)

    def kill_all(self) -> None:
        """Kill every process left in the groups (setsid children included)."""
        for group in self.groups:
            with contextlib.suppress(OSError):
                (group / "cgroup.kill").write_text("1")
        for _attempt in range(100):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)  # SIGKILLed processes leave their group as they exit

    def remove(self) -> None:
        """Kill what is left, then remove the groups."""
        self.kill_all()
        for group in reversed(self.groups):
            for _attempt in range(200):
                try:
                    group.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    self.kill_all()
                    time.sleep(0.01)
        self.groups = []
        self.memory = None
