"""New-user fixes: registration, `process` and `parser show` say why nothing would happen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from casparian_engine.cli.main import app

from .registration_support import make_parser

REPO_ROOT = Path(__file__).resolve().parents[2]
NO_MATCH = (
    "warning: smallbad 1.0.0 matches no files: declare tags or patterns in the parser "
    '(e.g. tags = ["invoices"] or patterns = ["invoices/**/*.csv"])'
)


@pytest.fixture
def cli_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    return home


def _untargeted_parser(tmp_path: Path) -> Path:
    folder = make_parser(tmp_path / "smallbad", lock=False)
    source = (folder / "invoice_parser.py").read_text()
    source = source.replace('name = "invoices"', 'name = "smallbad"')
    source = source.replace('    tags = ["invoices"]\n', "").replace(
        '    patterns = ["invoices/**/*.csv"]\n', ""
    )
    (folder / "invoice_parser.py").write_text(source)
    from .registration_support import uv_lock

    uv_lock(folder)
    return folder


def test_register_warns_and_show_says_when_a_parser_matches_no_files(
    cli_home: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["parser", "register", str(_untargeted_parser(tmp_path))])
    assert result.exit_code == 0, result.output
    assert NO_MATCH in result.output
    shown = runner.invoke(app, ["parser", "show", "smallbad"]).output
    assert "  tags             (none: this parser matches no files)" in shown
    assert "  patterns         (none: this parser matches no files)" in shown
    result = runner.invoke(app, ["process"])
    assert (
        "smallbad 1.0.0: matches no files: it declares no tags or patterns (add them and "
        "register a new version)"
    ) in result.output


def test_process_says_the_matched_files_were_already_processed(
    cli_home: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data" / "invoices"
    data.mkdir(parents=True)
    for number in range(2):
        (data / f"inv{number}.csv").write_text(f"id,amount\n{number},2.5\n")
    runner = CliRunner()
    assert runner.invoke(app, ["scan", str(tmp_path / "data")]).exit_code == 0
    parser = make_parser(tmp_path / "p")
    registered = runner.invoke(app, ["parser", "register", str(parser)])
    assert registered.exit_code == 0 and "warning" not in registered.output
    contract = parser / "invoices.contract.yaml"
    assert runner.invoke(app, ["schema", "approve", str(contract)]).exit_code == 0
    first = runner.invoke(app, ["process", "--json"])
    assert json.loads(first.stdout)["counts"]["completed"] == 2
    again = runner.invoke(app, ["process"])
    assert again.exit_code == 0
    assert (
        "invoices 1.0.0: 2 matched files already processed by this version — use "
        "`casparian backfill invoices --force` to redo them"
    ) in again.output
    as_json = runner.invoke(app, ["process", "--json"])
    assert json.loads(as_json.stdout)["not_queued"] == [
        "invoices 1.0.0: 2 matched files already processed by this version — use "
        "`casparian backfill invoices --force` to redo them"
    ]
