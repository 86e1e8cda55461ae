"""Backtest through a real registered bundle and real guests: files that failed before go first,
each file ends pass, quarantine or fail, a failed file's guest is replaced for the next, and
nothing is written."""

from __future__ import annotations

from pathlib import Path

from casparian_engine.workspace import Workspace

from .real_bundles import failing_on, invoices, register


def test_a_backtest_puts_failed_files_first_and_restarts_the_guest_after_a_failure(
    home: Path, tmp_path: Path
) -> None:
    data = invoices(tmp_path / "data", "a.csv", "bad.csv", "c.csv", rows=3)
    (data / "invoices" / "b.csv").write_text("id,amount\n,1.5\n7,2.5\n")  # one null id
    with Workspace.open(home) as workspace:
        workspace.files.scan(data)
        register(workspace, tmp_path / "parser", failing_on("bad"))
        assert workspace.jobs.process(workers=1).counts["failed"] == 1  # bad.csv failed before
        outputs = sorted(p.name for p in (home / "output").rglob("*") if p.is_file())
        paths = [str(data / "invoices" / name) for name in ("a.csv", "b.csv", "bad.csv", "c.csv")]
        report = workspace.parsers.backtest("invoices", paths)
        assert sorted(p.name for p in (home / "output").rglob("*") if p.is_file()) == outputs
    rows = [
        (Path(f.path).name, f.status, f.rows_emitted, f.rows_valid, f.rows_quarantined)
        for f in report.files
    ]
    assert rows == [
        ("bad.csv", "fail", 0, 0, 0),
        ("a.csv", "pass", 3, 3, 0),
        ("b.csv", "quarantine", 2, 1, 1),
        ("c.csv", "pass", 3, 3, 0),
    ]
    assert [f.failed_before for f in report.files] == [True, False, False, False]
    assert f"bad header in {data / 'invoices' / 'bad.csv'}" in report.files[0].error
    assert report.counts() == {"pass": 2, "quarantine": 1, "fail": 1}
    assert (report.parser_name, report.parser_version) == ("invoices", "1.0.0")
