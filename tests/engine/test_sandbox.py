"""Hostile parsers in the guest sandbox: secrets, stray children, network and memory.

Every test runs a real guest through the real dev loop (``run_parser``) inside bubblewrap, as the
product does on this machine; ``casparian doctor`` must report the sandbox for them to mean
anything, so the first test checks that.
"""

from __future__ import annotations

import dataclasses
import secrets
import socket
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from casparian_engine.bridge import isolation
from casparian_engine.cli.main import app
from casparian_engine.workspace import Workspace

from .bridge_support import ZOO, zoo_run


@pytest.fixture
def input_file(tmp_path: Path) -> Path:
    path = tmp_path / "input.txt"
    path.write_text("a,b\n1,2\n")
    return path


def test_doctor_reports_the_sandbox_memory_and_children(home: Path) -> None:
    found = isolation.detect()
    assert found.sandboxed, found.sandbox_problem  # CI installs bubblewrap (.ci/run)
    result = CliRunner().invoke(app, ["--home", str(home), "doctor"])
    assert result.exit_code == 0, result.output
    assert f"sandbox:  bubblewrap ({found.bwrap}): own PID, IPC, UTS, network" in result.output
    assert f"memory:   {found.memory}" in result.output
    assert "network:  none (own network namespace)" in result.output


def test_host_secrets_the_store_and_system_files_are_out_of_reach(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASPARIAN_TEST_SECRET", "s3cr3t-value")
    Workspace.open(home).close()
    store_file = home / "state.db"
    assert store_file.is_file()
    inputs = tmp_path / "targets.txt"  # the home lies inside the inputs' folder: still hidden
    inputs.write_text(f"/proc/{{ppid}}/environ\n/proc/1/environ\n{store_file}\n/etc/shadow\n")
    summary = zoo_run(home, "reads_secrets", inputs)
    assert summary.failure is None, summary.failure
    table = pq.read_table(home / "dev-output" / "reads_secrets" / "reads_secrets").to_pylist()
    outcomes = {row["path"]: (row["outcome"], row["head"]) for row in table}
    # The guest is PID 1 of its own namespace: it has no visible parent ...
    assert outcomes["/proc/0/environ"] == ("FileNotFoundError", "")
    # ... and PID 1 is the guest itself, whose environment is the scrubbed one.
    own_outcome, own_environment = outcomes["/proc/1/environ"]
    assert own_outcome == "read"
    assert "s3cr3t" not in own_environment and "CASPARIAN_TEST_SECRET" not in own_environment
    assert outcomes[str(store_file)] == ("FileNotFoundError", "")
    assert outcomes["/etc/shadow"] == ("FileNotFoundError", "")


def _stray_pids(marker: str) -> list[int]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if process.info["cmdline"] == ["sleep", marker]:
            found.append(process.pid)
    return found


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize("mode", ["fork", "setsid"])
def test_children_die_with_their_job_even_in_a_warm_guest(
    home: Path, tmp_path: Path, mode: str
) -> None:
    """Two files through one warm guest (as a prod worker or the daemon feeds it): the child
    the first job left is gone by the time the second job runs, and nothing is left after."""
    inputs = []
    markers = []
    for index in range(2):
        marker = f"{3000 + index}.{secrets.randbelow(10**9):09d}"
        markers.append(marker)
        path = tmp_path / f"job-{index}.txt"
        path.write_text(f"{mode} {marker} {tmp_path / f'go-{index}'}")
        inputs.append(path)
    seen: dict[int, list[int]] = {}
    alive_when_second_started: list[int] = []

    def on_log(level: int, message: str) -> None:
        if message != "STRAY-STARTED":
            return
        index = len(seen)
        seen[index] = _stray_pids(markers[index])
        if index == 1:
            alive_when_second_started.extend(p for p in seen[0] if not _gone(p))
        (tmp_path / f"go-{index}").touch()

    summary = zoo_run(home, "spawns_strays", inputs, guests=1, log_handler=on_log)
    assert summary.failure is None, summary.failure
    assert summary.files_done == 2
    assert len(seen[0]) == 1 and len(seen[1]) == 1  # each job left one `sleep` behind
    assert alive_when_second_started == []
    for pid in seen[0] + seen[1]:
        assert _gone(pid), f"the {mode} child {pid} outlived its job"


def test_network_is_refused_audited_and_never_reached(home: Path, tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    inputs = tmp_path / "port.txt"
    inputs.write_text(str(port))
    logs: list[tuple[int, str]] = []
    notices: list[dict[str, object]] = []
    try:
        summary = zoo_run(home, "connects", inputs, logs=logs, notices=notices)
        with pytest.raises(BlockingIOError):
            listener.accept()  # no connection ever arrived
    finally:
        listener.close()
    assert summary.failure is not None
    assert summary.failure.kind == "NetworkRefused"
    assert not summary.failure.retryable
    assert summary.failure.message == (
        f"{inputs}: network access is not allowed for this parser (connect to "
        f"('127.0.0.1', {port})); register it with --allow network to permit it"
    )
    assert notices == [
        {"event": "network", "operation": "socket.connect", "address": f"('127.0.0.1', {port})"}
    ]
    messages = [message for _, message in logs]
    assert (
        f"[casparian] refused the parser's network access: socket.connect to ('127.0.0.1', {port})"
        in messages
    )
    assert "LIBC-CONNECT -1 errno=111" in messages  # past the hook: an empty network namespace


def test_a_memory_hog_is_stopped_at_its_limit_with_the_memory_message(
    home: Path, input_file: Path
) -> None:
    summary = zoo_run(home, "eats_memory", input_file, guest_memory_limit_mb=300)
    assert summary.failure is not None
    assert summary.failure.kind == "MemoryLimit"
    assert not summary.failure.retryable
    assert summary.failure.message == (
        f"{input_file}: the parser used more than 300 MB of memory (the guest's limit) and was "
        "stopped; read the file in chunks and yield each chunk, or raise the setting "
        "guest_memory_limit_mb"
    )


def test_without_a_memory_cgroup_rlimit_as_stops_the_hog_with_the_same_message(
    home: Path, input_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weaker = dataclasses.replace(isolation.detect(), memory="RLIMIT_AS", memory_parent=None)
    monkeypatch.setattr(isolation, "detect", lambda: weaker)
    summary = zoo_run(home, "eats_memory", input_file, guest_memory_limit_mb=1024)
    assert summary.failure is not None
    assert (summary.failure.kind, summary.failure.retryable) == ("MemoryLimit", False)
    assert "the parser used more than 1,024 MB of memory (the guest's limit)" in (
        summary.failure.message
    )


def test_required_sandbox_refuses_where_there_is_none_and_warn_runs_weaker(
    home: Path, input_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = dataclasses.replace(
        isolation.detect(), bwrap="", sandbox_problem="bubblewrap is not installed (test)"
    )
    monkeypatch.setattr(isolation, "detect", lambda: missing)
    refused = zoo_run(home, "plain_csv", input_file, guest_sandbox="required")
    assert refused.failure is not None
    assert refused.failure.kind == "SandboxUnavailable"
    assert refused.failure.message == (
        "no sandbox for the guest: bubblewrap is not installed (test); the setting guest_sandbox "
        "is 'required' (set it to 'warn' to run parsers with weaker isolation)"
    )
    weaker = zoo_run(home, "plain_csv", input_file, guest_sandbox="warn")
    assert weaker.failure is None
    assert weaker.sandboxed is False


# The registered bundle: the zoo's read attempts (its module-level ``parse``), and the two
# probes only a production run needs (a log flood, a connection).
HOSTILE_PARSER = (
    (ZOO / "reads_secrets.py").read_text()
    + """
import socket

from casparian_parser import Parser


class Hostile(Parser):
    name = "hostile"
    version = "1.0.0"
    patterns = ["probe/*.txt"]
    outputs = {"hostile": "hostile.contract.yaml"}

    def parse(self, path):
        if os.path.basename(path) == "spam.txt":
            for number in range(20_000):
                print(f"spam line {number} " + "x" * 40)
            return parse(os.devnull)  # no path to try: an empty table
        if os.path.basename(path) == "connect.txt":
            port = int(open(path).read())
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        return parse(path)
"""
)

HOSTILE_CONTRACT = """\
name: hostile
columns:
  - name: path
    type: string
  - name: outcome
    type: string
  - name: head
    type: string
"""


def test_in_production_workers_the_same_walls_hold_and_refusals_are_audited(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from casparian_engine.contracts.model import SchemaContract

    from .registration_support import uv_lock

    monkeypatch.setenv("CASPARIAN_TEST_SECRET", "s3cr3t-value")
    folder = tmp_path / "hostile-parser"
    folder.mkdir()
    (folder / "hostile_parser.py").write_text(HOSTILE_PARSER)
    (folder / "hostile.contract.yaml").write_text(HOSTILE_CONTRACT)
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "hostile"\nversion = "1.0.0"\nrequires-python = ">=3.11"\n'
        "dependencies = []\n"
    )
    uv_lock(folder)
    workspace.parsers.register(folder, allow=("socket",))  # the lint rule only: no network
    contract = folder / "hostile.contract.yaml"
    workspace.contracts.approve(SchemaContract.from_yaml(contract.read_text(), str(contract)))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    probe = tmp_path / "data" / "probe"
    probe.mkdir(parents=True)
    store_file = workspace.home / "state.db"
    (probe / "targets.txt").write_text(
        f"/proc/{{ppid}}/environ\n/proc/1/environ\n{store_file}\n/etc/shadow\n"
    )
    (probe / "connect.txt").write_text(str(port))
    workspace.files.scan(tmp_path / "data")
    try:
        summary = workspace.jobs.process("hostile", workers=1)
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()
    assert summary.counts.get("completed") == 1 and summary.counts.get("failed") == 1
    # A job printing past its log cap: the guest stops sending, its log says how many.
    (probe / "spam.txt").write_text("spam")
    monkeypatch.setenv("CASPARIAN_LOG_CAP_BYTES", "10000")  # the workers' setting
    workspace.files.scan(tmp_path / "data")
    assert workspace.jobs.process("hostile", workers=1).counts.get("completed") == 1
    (spam,) = [
        job
        for job in workspace.jobs.list(parser="hostile", status="completed")
        if job.input_path.endswith("spam.txt")
    ]
    (log_file,) = workspace.config.logs_dir.rglob(f"{spam.id}.log")
    log_lines = log_file.read_text().splitlines()
    assert "[TRUNCATED] log reached its 10000 byte cap" in log_lines[-2]
    kept = sum("spam line" in line for line in log_lines)
    assert 0 < kept < 20_000
    assert log_lines[-1].endswith(
        f"[casparian] {20_000 - kept:,} later lines were dropped at the log cap"
    )
    (failed,) = workspace.jobs.list(parser="hostile", status="failed")
    assert failed.error_kind == "NetworkRefused"
    assert failed.error_message == (
        f"{probe / 'connect.txt'}: network access is not allowed for this parser (connect to "
        f"('127.0.0.1', {port})); register it with --allow network to permit it"
    )
    rows = {
        row["path"]: (row["outcome"], row["head"])
        for row in pq.read_table(workspace.config.output_dir / "hostile" / "hostile").to_pylist()
    }
    assert rows["/proc/0/environ"] == ("FileNotFoundError", "")
    assert "s3cr3t" not in rows["/proc/1/environ"][1]
    assert rows[str(store_file)] == ("FileNotFoundError", "")
    assert rows["/etc/shadow"] == ("FileNotFoundError", "")
    (entry,) = workspace.store.audit.list(action="guest.network_refused")
    assert entry.subject == "hostile@1.0.0"
    assert entry.details["job_id"] == failed.id
    assert entry.details["address"] == f"('127.0.0.1', {port})"


def test_commands_that_start_guests_warn_loudly_without_a_sandbox(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = dataclasses.replace(
        isolation.detect(), bwrap="", sandbox_problem="bubblewrap is not installed (test)"
    )
    monkeypatch.setattr(isolation, "detect", lambda: missing)
    result = CliRunner().invoke(app, ["--home", str(home), "doctor"])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "sandbox: NONE — bubblewrap is not installed (test)" in flat
    assert (
        "WARNING: parsers run WITHOUT a sandbox: bubblewrap is not installed (test). A parser can "
        "read whatever this user can read and reach the network." in flat
    )
