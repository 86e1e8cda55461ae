"""The zoo of misbehaving parsers: each ends with an exact, clear outcome; the host never hangs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest

from .bridge_support import zoo_run


@pytest.fixture
def input_file(tmp_path: Path) -> Path:
    path = tmp_path / "input.txt"
    path.write_text("a,b\n1,2\n")
    return path


def _nothing_written(home: Path) -> bool:
    output = home / "dev-output"
    return not output.exists() or not any(p.suffix == ".parquet" for p in output.rglob("*"))


@pytest.mark.parametrize(
    ("parser", "kind", "retryable", "message_part"),
    [
        ("syntax_error", "SyntaxError", False, "syntax_error.py: expected ':'"),
        ("import_error", "ModuleNotFoundError", False, "casparian_no_such_module"),
        ("raises", "ValueError", False, "unexpected token on line 3"),
        ("transient", "TransientError", True, "the network share is offline"),
        ("exits_midway", "SystemExit", False, "the parser called sys.exit(0)"),
        ("hard_exit", "GuestExited", False, "exited with code 0"),
        ("returns_none", "WrongType", False, "parse() returned None"),
        ("wrong_type", "WrongType", False, "builtins.str"),
        ("reserved_names", "ReservedColumn", False, "_cf_secret"),
        ("schema_change", "SchemaChanged", False, "column 'amount' was int64, now string"),
    ],
)
def test_misbehaving_parser_fails_clearly(
    home: Path, input_file: Path, parser: str, kind: str, retryable: bool, message_part: str
) -> None:
    if parser == "syntax_error":  # kept out of the source tree so that linters can parse it
        broken = input_file.parent / "syntax_error.py"
        broken.write_text("def parse(path)\n    return None\n")
        summary = zoo_run(home, broken, input_file)
    else:
        summary = zoo_run(home, parser, input_file)
    assert summary.failure is not None
    assert summary.failure.kind == kind
    assert summary.failure.retryable is retryable
    assert message_part in summary.failure.message
    assert summary.exit_code == (2 if retryable else 1)
    assert not summary.committed
    assert _nothing_written(home)


def test_failure_names_the_file(home: Path, input_file: Path) -> None:
    summary = zoo_run(home, "raises", input_file)
    assert summary.failure is not None
    assert summary.failure.path == str(input_file)
    assert summary.failure.message.startswith(str(input_file))
    assert "ValueError: unexpected token on line 3" in summary.failure.traceback


def test_infinite_loop_hits_the_inactivity_timeout(home: Path, input_file: Path) -> None:
    summary = zoo_run(home, "infinite_loop", input_file, guest_inactivity_timeout_s=1.0)
    assert summary.failure is not None
    assert summary.failure.kind == "InactivityTimeout"
    assert "sent nothing for 1 s" in summary.failure.message
    assert summary.guest_pid is not None and _dies_within(summary.guest_pid, 10.0)


def test_log_spam_is_capped_and_the_run_completes(home: Path, input_file: Path) -> None:
    logs: list[tuple[int, str]] = []
    summary = zoo_run(home, "log_spam", input_file, logs=logs, log_cap_bytes=10_000)
    assert summary.failure is None
    assert summary.log_truncated
    assert sum(len(message) + 1 for _, message in logs[:-1]) <= 10_000
    # The guest stops sending at the cap and counts what it dropped: the final note says how many.
    sent = len(logs) - 1
    assert 0 < sent < 20_000
    assert logs[-1][1] == (
        f"[casparian] the log reached its 10,000 byte cap; {20_000 - sent:,} later lines "
        "were dropped"
    )
    assert summary.log_dropped_lines == 20_000 - sent
    assert summary.outputs["log_spam"].written == 2


def test_a_row_over_the_frame_cap_fails(home: Path, input_file: Path) -> None:
    summary = zoo_run(home, "huge_frame", input_file, max_frame_bytes=1024 * 1024)
    assert summary.failure is not None
    assert summary.failure.kind == "FrameTooLarge"
    assert "max_frame_bytes=1048576" in summary.failure.message


def test_a_big_table_is_split_into_frames_under_the_cap(home: Path, input_file: Path) -> None:
    summary = zoo_run(home, "big_table", input_file, max_frame_bytes=512 * 1024)
    assert summary.failure is None
    table = pq.read_table(home / "dev-output" / "big_table" / "big_table")
    assert table.num_rows == 300_000
    assert table.column("n").to_pylist()[-3:] == [299_997, 299_998, 299_999]
    assert table.column("_cf_row").to_pylist()[-1] == 300_000


def test_mixed_type_column_falls_back_to_text(home: Path, input_file: Path) -> None:
    summary = zoo_run(home, "mixed_types", input_file)
    assert summary.failure is None
    table = pq.read_table(home / "dev-output" / "mixed_types" / "mixed_types")
    assert str(table.schema.field("value").type) == "string"
    assert table.column("value").to_pylist() == ["1", "two", None, "4.5"]


def test_writing_to_the_real_stdout_does_not_disturb_data(home: Path, input_file: Path) -> None:
    summary = zoo_run(home, "real_stdout", input_file)
    assert summary.failure is None
    table = pq.read_table(home / "dev-output" / "real_stdout" / "real_stdout")
    assert table.column("n").to_pylist() == [1, 2, 3]


def _status(pid: int) -> str:
    try:
        return str(psutil.Process(pid).status())
    except psutil.NoSuchProcess:
        return "gone"


def _dies_within(pid: int, seconds: float) -> bool:
    """SIGKILL is delivered asynchronously: wait (bounded) until the process is dead."""
    deadline = time.monotonic() + seconds
    while _status(pid) not in ("gone", psutil.STATUS_ZOMBIE):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_oom_risk_is_transient_and_tells_the_user_to_chunk(home: Path, input_file: Path) -> None:
    summary = zoo_run(home, "big_memory", input_file, guest_memory_limit_mb=3072)
    assert summary.failure is not None
    assert summary.failure.kind == "OOM_RISK"
    assert summary.failure.retryable
    assert "yield smaller batches" in summary.failure.message


def test_guest_sees_no_host_secrets(
    home: Path, input_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
    monkeypatch.setenv("CASPARIAN_TEST_ALLOWED", "yes")
    summary = zoo_run(home, "env_probe", input_file, guest_env_allow=("CASPARIAN_TEST_ALLOWED",))
    assert summary.failure is None
    table = pq.read_table(home / "dev-output" / "env_probe" / "env_probe")
    names = set(table.column("name").to_pylist())
    assert "ANTHROPIC_API_KEY" not in names
    assert "AWS_SECRET_ACCESS_KEY" not in names
    assert "CASPARIAN_TEST_ALLOWED" in names
    assert "CASPARIAN_HOME" not in names
    guest_cwd = table.column("cwd")[0].as_py()
    assert guest_cwd != os.getcwd() and "casparian-guest-" in guest_cwd
    assert not Path(guest_cwd).exists()


HOST_SCRIPT = """
import sys, time
from casparian_engine.bridge.host import start_guest
from casparian_engine.config import Settings
guest = start_guest(sys.argv[1], Settings())
guest.submit(sys.argv[2])
print(guest.pid, flush=True)
time.sleep(600)
"""


def test_an_idle_warm_guest_ends_when_its_host_is_killed(tmp_path: Path) -> None:
    """A warm guest waiting for its next file, in the sandbox (where its parent lies outside
    its PID namespace, so ``getppid`` cannot tell), exits when its host dies: bubblewrap's
    --die-with-parent, and the pipe from the host hanging up if that was missed."""
    import subprocess
    import sys

    from .bridge_support import ZOO

    script = HOST_SCRIPT.replace("guest.submit(sys.argv[2])\n", "")
    host = subprocess.Popen(
        [sys.executable, "-c", script, str(ZOO / "plain_csv.py")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert host.stdout is not None
    launched = psutil.Process(int(host.stdout.readline()))  # printed after the hello
    guest_processes = [launched, *launched.children(recursive=True)]
    assert len(guest_processes) == 2  # bubblewrap and the guest, PID 1 of its namespace
    host.kill()
    host.wait()
    gone, alive = psutil.wait_procs(guest_processes, timeout=30)  # a hang guard, not timing
    assert alive == [] and len(gone) == 2


def test_a_guest_busy_in_its_parser_ends_when_its_host_is_killed(
    input_file: Path, tmp_path: Path
) -> None:
    """kill -9 of a worker must not leave its guest parsing for ever (the guest is in its own
    session, so no signal reaches it: it notices its host is gone and exits)."""
    import subprocess
    import sys

    from .bridge_support import ZOO

    host = subprocess.Popen(
        [sys.executable, "-c", HOST_SCRIPT, str(ZOO / "sleeps_for_signal.py"), str(input_file)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert host.stdout is not None
    launched = psutil.Process(int(host.stdout.readline()))
    # the sandbox's launcher and the guest inside it (its PID 1), or the unsandboxed guest
    guest_processes = [launched, *launched.children(recursive=True)]
    time.sleep(0.5)  # the guest is inside the parser's sleep now
    host.kill()
    host.wait()
    gone, alive = psutil.wait_procs(guest_processes, timeout=30)  # a hang guard, not timing
    assert alive == [] and len(gone) == len(guest_processes)
