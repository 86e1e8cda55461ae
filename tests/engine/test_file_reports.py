"""Files reported by a worker as they finish, before its batch commits (runner.file_reports)."""

from __future__ import annotations

import os

from casparian_engine.runner.file_reports import FileReporter, FileReports


def test_reports_count_until_the_commit_and_partial_lines_wait() -> None:
    reports = FileReports()
    read_fd, write_fd = reports.new_pipe()
    reports.attach(4242, read_fd)
    reporter = FileReporter(write_fd)
    reporter.file_done(True, 3)
    reporter.file_done(False)
    os.write(write_fd, b"o")  # half a line: not counted until its end arrives
    assert reports.read()
    assert (reports.uncommitted.finished, reports.uncommitted.failed) == (2, 1)
    assert reports.uncommitted.rows_quarantined == 3
    os.write(write_fd, b"2\n")
    reports.read()
    assert (reports.uncommitted.finished, reports.uncommitted.rows_quarantined) == (3, 5)
    reporter.committing()  # from now on the store counts them
    reports.read()
    assert (reports.uncommitted.finished, reports.uncommitted.failed) == (0, 0)
    assert not reports.read()  # nothing new
    reporter.close()
    reports.close()


def test_a_worker_never_blocks_on_a_full_or_closed_pipe() -> None:
    reports = FileReports()
    read_fd, write_fd = reports.new_pipe()
    reporter = FileReporter(write_fd)
    for _ in range(70_000):  # more than a pipe holds: the extra lines are dropped, not waited on
        reporter.file_done(True)
    os.close(read_fd)  # the pool is gone
    reporter.file_done(True)
    assert reporter.fd is None  # it stopped reporting; the worker goes on
    FileReporter(None).file_done(True)  # a worker started without a pool reports nothing
