"""Job logs: dated per-job files, a visible cap, global rotation, following."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from casparian_engine.logs import (
    TRUNCATION_NOTE,
    JobLog,
    follow_log,
    job_log_path,
    rotate_logs,
)

DAY = 86400.0


def test_path_is_dated_by_the_start_of_the_run(tmp_path: Path) -> None:
    started = 1_700_000_000.0  # 2023-11-14 or -15 depending on the zone
    path = job_log_path(tmp_path, 42, started)
    assert path.name == "42.log"
    assert path.parent.parent == tmp_path
    assert len(path.parent.name) == 10 and path.parent.name.startswith("2023-11-1")


def test_cap_truncates_the_tail_with_a_visible_note(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "7.log"
    with JobLog(path, cap_bytes=1000) as log:
        for i in range(100):
            log.write("info", f"line {i:03d} " + "x" * 20)
        assert log.truncated
    data = path.read_bytes()
    assert len(data) <= 1000
    lines = data.decode().splitlines()
    assert lines[-1] == TRUNCATION_NOTE.format(cap=1000)
    assert "INFO" in lines[0] and "line 000" in lines[0]
    assert sum(TRUNCATION_NOTE.format(cap=1000) in line for line in lines) == 1
    # A retry reopening the full log adds nothing more.
    with JobLog(path, cap_bytes=1000) as again:
        again.write("error", "retry output")
    assert path.read_bytes() == data


def test_rotation_keeps_seven_days_or_the_size_cap(tmp_path: Path) -> None:
    now = 2_000_000_000.0
    logs = tmp_path / "logs"
    ages = {"old": 9, "week": 6, "mid": 3, "new": 0}
    for name, age_days in ages.items():
        day_dir = logs / name
        day_dir.mkdir(parents=True)
        path = day_dir / "1.log"
        path.write_bytes(b"x" * 400)
        os.utime(path, (now - age_days * DAY, now - age_days * DAY))
    report = rotate_logs(logs, retention_days=7, total_bytes=10_000, now=now)
    assert (report.removed_files, report.removed_bytes) == (1, 400)
    assert sorted(p.name for p in logs.iterdir()) == ["mid", "new", "week"]
    # The size budget is smaller than a week of logs: oldest go first.
    report = rotate_logs(logs, retention_days=7, total_bytes=800, now=now)
    assert (report.removed_files, report.kept_bytes) == (1, 800)
    assert sorted(p.name for p in logs.iterdir()) == ["mid", "new"]


def test_follow_yields_lines_until_the_job_finishes(tmp_path: Path) -> None:
    path = tmp_path / "9.log"
    finished = threading.Event()
    wrote_first = threading.Event()
    seen: list[str] = []

    def writer() -> None:
        with JobLog(path) as log:
            log.write("info", "first")
            wrote_first.wait()
            log.write("warning", "second")
        finished.set()

    thread = threading.Thread(target=writer)
    thread.start()
    for line in follow_log(path, finished.is_set, poll_interval_s=0.01):
        seen.append(line)
        wrote_first.set()
    thread.join()
    assert [line.split(maxsplit=2)[1:] for line in seen] == [
        ["INFO", "first"],
        ["WARNING", "second"],
    ]


def test_quiet_job_creates_no_file_until_something_is_written(tmp_path: Path) -> None:
    path = tmp_path / "day" / "3.log"
    with JobLog(path) as quiet:
        quiet.note("info", "started")
        quiet.note("info", "finished")
    assert not quiet.written and not path.exists()
    with JobLog(path) as noisy:
        noisy.note("info", "started")
        noisy.write("warning", "row 4 looks odd")
    assert noisy.written
    assert [line.split(maxsplit=2)[1:] for line in path.read_text().splitlines()] == [
        ["INFO", "started"],
        ["WARNING", "row 4 looks odd"],
    ]
