"""The host side of the bridge: start an isolated guest, feed it files, receive its frames."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import zmq

from ..config import Settings
from ..errors import CasparianError
from ..process_temp import process_temp_dir, remove_stale_once
from . import isolation
from .frames import (
    DataFrame,
    EndOfStream,
    ErrorFrame,
    FrameError,
    HelloFrame,
    LogFrame,
    decode_frame,
)
from .guest.shim import NOTICE_LEVEL, memory_limit_message

GUEST_DIR = Path(__file__).resolve().parent / "guest"
SHIM_PATH = GUEST_DIR / "shim.py"
BASE_ENV_ALLOW = ("PATH", "LANG", "LANGUAGE", "TZ", "TERM", "PYTHONHASHSEED", "PYTHONIOENCODING")
POLL_INTERVAL_MS = 200

LogHandler = Callable[[int, str], None]
NoticeHandler = Callable[[dict[str, Any]], bool | None]  # True: it wrote its own log line
MAX_NOTICES = 100


class GuestError(CasparianError):
    """The guest failed: ``kind`` names the failure, ``retryable`` marks it transient."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        retryable: bool = False,
        traceback: str = "",
        path: str | None = None,
        exit_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retryable = retryable
        self.traceback = traceback
        self.path = path
        self.exit_code = exit_code


GUEST_DIR_PREFIX = "casparian-guest-"
"""Each guest's private folder (its socket, working directory and temporary files) is a
temporary folder named ``casparian-guest-<host pid>-<start time>-…``; the first guest a process
starts removes those of hosts that are gone (killed before they could clean up)."""
UNNAMED_GUEST_DIR_AGE_S = 3600.0


def _unnamed_guest_dir_gone(folder: Path, name: str) -> bool:
    """A guest folder named without its host (made before folders named one) is stale when it
    is empty (a live host's folder holds its socket) and older than an hour."""
    try:
        return not any(folder.iterdir()) and (
            time.time() - folder.stat().st_mtime > UNNAMED_GUEST_DIR_AGE_S
        )
    except OSError:
        return False


@dataclass(frozen=True)
class ParserInfo:
    """What the guest reported about the parser it loaded."""

    name: str
    version: str
    level: int
    outputs: dict[str, str | None]
    default_output: str
    tags: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)
    python: str = ""

    @classmethod
    def from_hello(cls, metadata: dict[str, Any]) -> ParserInfo:
        return cls(
            name=str(metadata["name"]),
            version=str(metadata["version"]),
            level=int(metadata["level"]),
            outputs=dict(metadata.get("outputs") or {}),
            default_output=str(metadata["default_output"]),
            tags=list(metadata.get("tags") or []),
            patterns=list(metadata.get("patterns") or []),
            python=str(metadata.get("python", "")),
        )


def guest_python(venv: str | os.PathLike[str] | None = None) -> str:
    """The interpreter for the guest: ``--venv``, else ``$VIRTUAL_ENV``, else this one."""
    chosen = venv or os.environ.get("VIRTUAL_ENV")
    if chosen:
        candidate = Path(chosen).expanduser() / "bin" / "python"
        if not candidate.exists():
            raise GuestError("VenvError", f"{chosen}: no interpreter at {candidate}")
        return str(candidate)
    return sys.executable


def scrubbed_environment(
    settings: Settings, parser_dir: Path, work_dir: Path, source: dict[str, str] | None = None
) -> dict[str, str]:
    """The guest's environment: an allow-list of the host's, nothing else (no credentials)."""
    host_env = os.environ if source is None else source
    allowed = set(BASE_ENV_ALLOW) | set(settings.guest_env_allow)
    env = {
        name: value for name, value in host_env.items() if name in allowed or name.startswith("LC_")
    }
    env.update(
        HOME=str(work_dir),
        TMPDIR=str(work_dir),
        PYTHONPATH=os.pathsep.join([str(GUEST_DIR), str(parser_dir)]),
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.setdefault("PATH", os.defpath)
    return env


def _limits_and_group(
    memory_limit_mb: int,
    take_terminal: bool,
    cgroups: isolation.GuestCgroups | None = None,
    sandboxed: bool = False,
) -> Callable[[], None]:
    """Runs in the child before exec: own process group and cgroups, no core dumps, and
    RLIMIT_AS when no memory cgroup enforces the limit. A sandbox's launcher ignores Ctrl+C
    (the guest inside, in the same terminal group, turns it into KeyboardInterrupt and reports
    it; the launcher dying of it would kill the guest before it could)."""

    def prepare() -> None:
        if cgroups is not None:
            cgroups.join()
        if sandboxed:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        if take_terminal:
            os.setpgid(0, 0)
            previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
            with contextlib.suppress(OSError):
                os.tcsetpgrp(0, os.getpgrp())
            signal.signal(signal.SIGTTOU, previous)
        else:
            os.setsid()
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if memory_limit_mb > 0:
            limit = memory_limit_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return prepare


@dataclass(frozen=True)
class GuestOptions:
    """How a guest runs: its interpreter, what it may see and reach, and where its logs go."""

    python: str | None = None
    """The interpreter of the parser's environment (default: this one)."""
    interactive: bool = False
    """Dev mode: the guest inherits the terminal (``breakpoint()`` works)."""
    log_file: IO[bytes] | None = None
    on_log: LogHandler | None = None
    cancel: threading.Event | None = None
    pack_rows: int = 0
    """Small files' rows travel together in frames of up to this many rows (0: one per file)."""
    inputs: Sequence[str | os.PathLike[str]] = ()
    """The files it will read: their folders are bound read-only into its sandbox."""
    input_folders: Sequence[Path] = ()
    hidden: Sequence[Path] = ()
    """Folders hidden from it even inside an input folder (the Casparian home)."""
    allow_network: bool = False
    on_notice: NoticeHandler | None = None
    log_cap_per_file: bool = False
    """The log cap applies to each file (a warm prod guest), not to the whole run."""


class GuestProcess:
    """One warm guest running one parser; feed it many files with ``submit`` + ``frames``."""

    def __init__(
        self,
        parser_path: str | os.PathLike[str],
        settings: Settings,
        options: GuestOptions | None = None,
    ) -> None:
        options = options or GuestOptions()
        self.parser_path = Path(parser_path).resolve()
        self.input_roots = isolation.input_roots(options.inputs, options.input_folders)
        self.hidden = tuple(options.hidden)
        self.allow_network = options.allow_network
        self.on_notice = options.on_notice
        self.log_cap_per_file = options.log_cap_per_file
        self.notices: list[dict[str, Any]] = []
        self.dropped_log_lines = 0
        self.sandboxed = False
        self.memory_limit_mb = 0
        self._cgroups: isolation.GuestCgroups | None = None
        self._host_pipe = -1
        self.pack_rows = max(0, options.pack_rows)
        self.last_activity = time.monotonic()
        self.settings = settings
        self.python = options.python or sys.executable
        self.interactive = options.interactive
        self.log_file = options.log_file
        self.on_log = options.on_log or (lambda level, message: None)
        self.cancel = options.cancel
        self.info: ParserInfo | None = None
        self.pending_paths: list[str] = []
        self.logged_bytes = 0
        self.log_truncated = False
        self._context: zmq.Context[Any] = zmq.Context.instance()
        self._socket: zmq.Socket[Any] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._work_dir: tempfile.TemporaryDirectory[str] | None = None
        self._took_terminal = False

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> ParserInfo:
        """Spawn the guest, wait for it to load the parser, and return what it reported."""
        if not self.parser_path.is_file():
            raise GuestError("LoadError", f"{self.parser_path}: no such parser file")
        found = isolation.detect()
        mode = self.settings.guest_sandbox
        if mode == "required" and not found.sandboxed:
            raise GuestError(
                "SandboxUnavailable",
                f"no sandbox for the guest: {found.sandbox_problem}; the setting guest_sandbox "
                "is 'required' (set it to 'warn' to run parsers with weaker isolation)",
            )
        self.sandboxed = found.sandboxed and mode != "off"
        remove_stale_once(GUEST_DIR_PREFIX, _unnamed_guest_dir_gone)
        self._work_dir = process_temp_dir(GUEST_DIR_PREFIX)
        work_dir = Path(self._work_dir.name)
        endpoint = self._bind(work_dir)
        self.memory_limit_mb = isolation.memory_limit_mb(
            self.settings.guest_memory_limit_mb,
            self.settings.guest_memory_fraction,
            self.settings.max_concurrent_workers,
            found.total_memory_mb,
        )
        self._cgroups = isolation.GuestCgroups(found, self.memory_limit_mb)
        # The guest watches a pipe whose write end only this process holds: it hangs up when
        # this process ends, however it ends, and the guest then exits (sandboxed or not).
        pipe_read, self._host_pipe = os.pipe()
        command = self._command(found, endpoint, pipe_read, work_dir)
        self._spawn(command, pipe_read, work_dir)
        return self._hello()

    def _bind(self, work_dir: Path) -> str:
        """Bind this side's socket and return the endpoint the guest connects to: a Unix socket
        in the guest's private folder (bound into its sandbox), else a local TCP port."""
        socket = self._context.socket(zmq.PAIR)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.RCVHWM, 4)
        socket.setsockopt(zmq.MAXMSGSIZE, self.settings.max_frame_bytes + 64)
        self._socket = socket
        if os.name == "posix":
            path = work_dir / "bridge.sock"
            most = getattr(zmq, "IPC_PATH_MAX_LEN", 0) or 107  # sockaddr_un's sun_path
            if len(os.fsencode(path)) > most:
                raise GuestError(
                    "SocketPathTooLong",
                    f"the guest's socket {path} is longer than the {most} bytes a Unix socket "
                    f"path may have: set TMPDIR to a shorter folder (it is {work_dir.parent})",
                )
            endpoint = f"ipc://{path}"
            socket.bind(endpoint)
            return endpoint
        return f"tcp://127.0.0.1:{socket.bind_to_random_port('tcp://127.0.0.1')}"

    def _command(
        self, found: isolation.Isolation, endpoint: str, pipe_read: int, work_dir: Path
    ) -> list[str]:
        """The shim's command line, wrapped in the sandbox when there is one."""
        command = [
            self.python,
            str(SHIM_PATH),
            "--endpoint",
            endpoint,
            "--parser",
            str(self.parser_path),
            "--max-frame-bytes",
            str(self.settings.max_frame_bytes),
            "--pack-rows",
            str(self.pack_rows),
            "--log-cap-bytes",
            str(self.settings.log_cap_bytes),
            "--memory-limit-mb",
            str(self.memory_limit_mb),
            "--host-pipe-fd",
            str(pipe_read),
        ]
        if self.log_cap_per_file:
            command.append("--log-cap-per-file")
        if not self.allow_network:
            command.append("--deny-network")
        if not self.sandboxed:
            return command
        return isolation.sandbox_command(
            found,
            [*command, "--reap-children"],
            python=self.python,
            readable=[GUEST_DIR, self.parser_path.parent, *self.input_roots],
            writable=work_dir,
            hidden=self.hidden,
            allow_network=self.allow_network,
        )

    def _spawn(self, command: list[str], pipe_read: int, work_dir: Path) -> None:
        """Start the guest process: scrubbed environment, memory limit, its own process group,
        the terminal in dev mode (logs into the job's log file otherwise)."""
        assert self._cgroups is not None
        take_terminal = self.interactive and _owns_terminal()
        stdio: dict[str, Any] = {}
        if not self.interactive:
            out = self.log_file if self.log_file is not None else subprocess.DEVNULL
            stdio = {"stdin": subprocess.DEVNULL, "stdout": out, "stderr": out}
        env = scrubbed_environment(self.settings, self.parser_path.parent, work_dir)
        rlimit_mb = self.memory_limit_mb if self._cgroups.rlimit_needed else 0
        try:
            self._process = subprocess.Popen(
                command,
                env=env,
                cwd=work_dir,
                preexec_fn=_limits_and_group(
                    rlimit_mb, take_terminal, self._cgroups, self.sandboxed
                ),
                pass_fds=(pipe_read,),
                **stdio,
            )
        except OSError as exc:
            os.close(pipe_read)
            self.close()
            raise GuestError(
                "SpawnError", f"cannot start the guest with {self.python}: {exc}"
            ) from exc
        os.close(pipe_read)
        self._took_terminal = take_terminal

    def _hello(self) -> ParserInfo:
        """Wait for the guest to load the parser; what it reported, or the error it sent."""
        assert self._process is not None
        frame = self._next_frame(self.settings.guest_connect_timeout_s, "loading the parser")
        if isinstance(frame, ErrorFrame):
            self.close()
            raise _error_from(frame, self._process.returncode)
        if not isinstance(frame, HelloFrame):
            self.close()
            raise GuestError(
                "ProtocolError", f"expected the guest's hello, got {type(frame).__name__}"
            )
        try:
            self.info = ParserInfo.from_hello(frame.metadata)
        except (KeyError, TypeError, ValueError) as exc:
            self.close()
            raise GuestError("ProtocolError", f"the guest's hello is incomplete: {exc}") from exc
        return self.info

    def can_read(self, paths: Sequence[str]) -> bool:
        """Whether every path lies in a folder this guest's sandbox shows it (always, unboxed)."""
        return not self.sandboxed or all(isolation.covers(self.input_roots, p) for p in paths)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def submit(self, path: str | os.PathLike[str]) -> None:
        """Queue a file for parsing; frames for it come back in submission order."""
        assert self._socket is not None, "start() the guest first"
        resolved = str(Path(path).resolve())
        self._socket.send(json.dumps({"op": "parse", "path": resolved}).encode("utf-8"))
        self.pending_paths.append(resolved)

    def submit_many(self, paths: Sequence[str]) -> None:
        """Queue several files with one command (absolute paths, as the executor has them)."""
        assert self._socket is not None, "start() the guest first"
        if not paths:
            return
        self._socket.send(json.dumps({"op": "parse", "paths": list(paths)}).encode("utf-8"))
        self.pending_paths.extend(paths)
        self.last_activity = time.monotonic()

    @property
    def socket(self) -> zmq.Socket[Any] | None:
        """The host's socket to this guest (for polling several guests at once)."""
        return self._socket

    def poll_frame(self) -> DataFrame | EndOfStream | None:
        """The next data or end frame if one has arrived, else None; never blocks.

        Logs are routed on the way; a guest failure, exit or silence past the inactivity timeout
        raises ``GuestError`` (the path is the oldest pending file).
        """
        assert self._socket is not None and self._process is not None
        doing = f"parsing {self.pending_paths[0]}" if self.pending_paths else "waiting"
        timeout_s = self.settings.guest_inactivity_timeout_s
        while self._socket.poll(0, zmq.POLLIN):
            frame, active = self._receive(doing)
            if active:
                self.last_activity = time.monotonic()
            if frame is None:
                continue
            if isinstance(frame, ErrorFrame):
                self._wait_exit(5.0)
                raise _error_from(frame, self._returncode())
            if isinstance(frame, EndOfStream):
                if frame.files > len(self.pending_paths):
                    raise GuestError(
                        "ProtocolError",
                        f"the guest completed {frame.files} files, but only "
                        f"{len(self.pending_paths)} were pending",
                    )
                del self.pending_paths[: frame.files]
                return frame
            if isinstance(frame, DataFrame):
                if not self.pending_paths:
                    raise GuestError("ProtocolError", "the guest sent rows for no pending file")
                return frame
            raise GuestError("ProtocolError", f"while {doing}: unexpected {type(frame).__name__}")
        if self.cancel is not None and self.cancel.is_set():
            raise GuestError("Cancelled", f"cancelled while {doing}")
        returncode = self._process.poll()
        if returncode is not None and not self._socket.poll(0, zmq.POLLIN):
            raise self._exit_error(returncode, doing)
        if self.pending_paths and time.monotonic() - self.last_activity > timeout_s:
            raise _silence_error(timeout_s, doing)
        return None

    def frames(self) -> Iterator[DataFrame]:
        """Data frames of the oldest submitted file, until its end; guest failures raise."""
        path = self.pending_paths[0]
        while True:
            frame = self._next_frame(self.settings.guest_inactivity_timeout_s, f"parsing {path}")
            if isinstance(frame, DataFrame):
                yield frame
            elif isinstance(frame, EndOfStream):
                self.pending_paths.pop(0)
                return
            elif isinstance(frame, ErrorFrame):
                self._wait_exit(5.0)
                raise _error_from(frame, self._returncode())
            else:
                raise GuestError("ProtocolError", f"{path}: unexpected {type(frame).__name__}")

    def stop(self) -> None:
        """Ask the guest to finish, then make sure its whole process group is gone. Log lines
        and notices it sends on the way out (the last file's dropped-line count) are routed."""
        if self._socket is not None and self._process is not None and self._process.poll() is None:
            with contextlib.suppress(zmq.ZMQError):
                self._socket.send(b'{"op": "stop"}', zmq.NOBLOCK)
            deadline = time.monotonic() + 5.0
            while self._process.poll() is None and time.monotonic() < deadline:
                with contextlib.suppress(zmq.ZMQError, FrameError):
                    if self._socket.poll(50, zmq.POLLIN):
                        frame = decode_frame(
                            self._socket.recv_multipart(copy=False), self.settings.max_frame_bytes
                        )
                        if isinstance(frame, LogFrame):
                            self._route_log(frame)
        self.close()

    def close(self) -> None:
        """Kill the guest's process group (children included) and release socket and temp dir."""
        process = self._process
        if process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        if self._host_pipe >= 0:
            os.close(self._host_pipe)
            self._host_pipe = -1
        if self._cgroups is not None:
            self._cgroups.remove()  # setsid children and any left in the guest's groups
            self._cgroups = None
        if self._took_terminal:
            _reclaim_terminal()
            self._took_terminal = False
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None
        if self._work_dir is not None:
            self._work_dir.cleanup()
            self._work_dir = None

    def __enter__(self) -> GuestProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- receiving ----------------------------------------------------------------------------

    def _exit_error(self, returncode: int, doing: str) -> GuestError:
        """Why the guest ended without a word: its memory limit (never retried), or unknown."""
        if self._cgroups is not None and self._cgroups.memory_killed():
            path = self.pending_paths[0] if self.pending_paths else None
            message = memory_limit_message(self.memory_limit_mb)
            return GuestError(
                "MemoryLimit",
                f"{path}: {message}" if path else f"while {doing}: {message}",
                path=path,
                exit_code=returncode,
            )
        return GuestError(
            "GuestExited",
            f"the guest exited with code {returncode} while {doing}, without reporting "
            "an error (os._exit, a crash, a signal or a frame over max_frame_bytes)",
            retryable=returncode == 2,
            exit_code=returncode,
        )

    def _returncode(self) -> int | None:
        return self._process.poll() if self._process else None

    def _wait_exit(self, timeout_s: float) -> None:
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=timeout_s)

    def _next_frame(self, timeout_s: float, doing: str) -> Any:
        """The next non-log frame; logs are routed as they arrive, silence times out."""
        assert self._socket is not None and self._process is not None
        deadline = time.monotonic() + timeout_s
        while True:
            if self.cancel is not None and self.cancel.is_set():
                raise GuestError("Cancelled", f"cancelled while {doing}")
            if self._socket.poll(POLL_INTERVAL_MS, zmq.POLLIN):
                frame, active = self._receive(doing)
                if frame is not None:
                    return frame
                if active:
                    deadline = time.monotonic() + timeout_s
                continue
            returncode = self._process.poll()
            if returncode is not None and not self._socket.poll(0, zmq.POLLIN):
                raise self._exit_error(returncode, doing)
            if time.monotonic() > deadline:
                raise _silence_error(timeout_s, doing)

    def _receive(self, doing: str) -> tuple[Any, bool]:
        """One message of the guest, decoded: the frame (None for log lines, routed here) and
        whether it counts as activity."""
        assert self._socket is not None
        parts = self._socket.recv_multipart(copy=False)
        try:
            frame = decode_frame(parts, self.settings.max_frame_bytes)
        except FrameError as exc:
            raise GuestError("ProtocolError", f"while {doing}: {exc}") from exc
        if isinstance(frame, LogFrame):
            return None, self._route_log(frame)
        return frame, True

    def _route_log(self, frame: LogFrame) -> bool:
        """Pass log lines on unless the cap is spent; True if they count as activity.

        A frame holds one or more lines (the guest batches them); one at ``NOTICE_LEVEL`` is a
        notice (a refused connection, lines the guest's log cap dropped), handled apart.
        """
        if frame.level == NOTICE_LEVEL:
            self._notice(frame.message)
            return True
        if self.log_truncated and not self.log_cap_per_file:
            return False
        self.logged_bytes += len(frame.message) + 1
        if self.logged_bytes > self.settings.log_cap_bytes and not self.log_cap_per_file:
            self.log_truncated = True
            self.on_log(
                30,
                f"[casparian] log output exceeded {self.settings.log_cap_bytes} bytes; "
                "further guest log lines are dropped",
            )
            return False
        for line in frame.message.split("\n"):
            self.on_log(frame.level, line)
        return True

    def _notice(self, message: str) -> None:
        try:
            document = json.loads(message)
        except ValueError:
            return
        if not isinstance(document, dict):
            return
        event = document.get("event")
        if event == "file":  # one per file in production: who the next lines belong to
            if self.on_notice is not None:
                self.on_notice(document)
            return
        if len(self.notices) >= MAX_NOTICES:
            return
        self.notices.append(document)
        handled = self.on_notice(document) if self.on_notice is not None else None
        if event == "log_dropped":
            lines = int(document.get("lines") or 0)
            self.dropped_log_lines += lines
            self.log_truncated = True
            if not handled:
                self.on_log(
                    30,
                    f"[casparian] the log reached its {self.settings.log_cap_bytes:,} byte cap; "
                    f"{lines:,} later lines were dropped",
                )
        elif event == "network":
            self.on_log(
                30,
                f"[casparian] refused the parser's network access: {document.get('operation')} "
                f"to {str(document.get('address'))[:200]}",
            )


def _error_from(frame: ErrorFrame, exit_code: int | None) -> GuestError:
    return GuestError(
        frame.kind,
        frame.message,
        retryable=frame.retryable,
        traceback=frame.traceback,
        path=frame.path,
        exit_code=exit_code,
    )


def _owns_terminal() -> bool:
    """True when stdin is a terminal whose foreground group is ours (so the guest may take it)."""
    try:
        return os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp()
    except OSError:
        return False


def _reclaim_terminal() -> None:
    """Make our process group the terminal's foreground group again after the guest ends."""
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(0, os.getpgrp())
    finally:
        signal.signal(signal.SIGTTOU, previous)


def start_guest(
    parser_path: str | os.PathLike[str], settings: Settings, options: GuestOptions | None = None
) -> GuestProcess:
    """Start a guest and return it loaded; closes it again if loading fails."""
    guest = GuestProcess(parser_path, settings, options)
    try:
        guest.start()
    except BaseException:
        guest.close()
        raise
    return guest


def describe(values: Sequence[str]) -> str:
    """Join names for messages."""
    return ", ".join(values) if values else "(none)"


def _silence_error(timeout_s: float, doing: str) -> GuestError:
    """The guest sent nothing for ``timeout_s`` (retryable: the guest is stopped)."""
    return GuestError(
        "InactivityTimeout",
        f"the guest sent nothing for {timeout_s:g} s while {doing}; stopped it "
        "(guest_inactivity_timeout_s / guest_connect_timeout_s)",
        retryable=True,
    )
