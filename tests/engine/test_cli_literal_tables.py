"""CLI tables print data literally: brackets in a path are never read as Rich markup."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from casparian_engine.cli.main import app


def test_files_table_prints_bracketed_paths_as_written(home: Path, tmp_path: Path) -> None:
    tree = tmp_path / "qa-weird"
    (tree / "[dir=<1]").mkdir(parents=True)
    weird = tree / "[dir=<1]" / "x[=<y].csv"
    bold = tree / "[b]bold.csv"
    closing = tree / "[/]close.csv"  # a bare closing tag raises in Rich's markup parser
    for path in (weird, bold):
        path.write_text("a,b\n1,2\n")
    (tree / "[").mkdir()  # '[/]close.csv' is a folder '[' holding ']close.csv'
    closing.write_text("a\n1\n")
    runner = CliRunner()
    assert runner.invoke(app, ["scan", str(tree)]).exit_code == 0

    listed = runner.invoke(app, ["files"])

    assert listed.exit_code == 0, listed.output
    printed = listed.stdout
    assert str(weird) in printed
    assert str(bold) in printed
    assert str(closing) in printed
    assert "3 of 3 files" in printed
