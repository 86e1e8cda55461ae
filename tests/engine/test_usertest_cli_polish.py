"""New-user fixes in CLI output: no truncated paths when piped, no <bool>, mistyped --home."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from casparian_engine.cli.main import app


def test_piped_tables_keep_long_paths_whole(home: Path, tmp_path: Path) -> None:
    deep = tmp_path / ("a-rather-long-folder-name-" * 4).rstrip("-") / "usertest-invoices"
    deep.mkdir(parents=True)
    (deep / "invoice_with_a_long_name_2023_08.csv").write_text("id\n1\n")
    runner = CliRunner()
    assert runner.invoke(app, ["scan", str(tmp_path)]).exit_code == 0
    listed = runner.invoke(app, ["files"])
    assert listed.exit_code == 0
    assert str(deep / "invoice_with_a_long_name_2023_08.csv") in listed.output
    assert "…" not in listed.output


def test_flags_show_no_bool_metavar_in_help() -> None:
    result = CliRunner().invoke(app, ["quarantine", "list", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert "--all-versions" in result.output and "<bool>" not in result.output
    assert "<str>" in result.output  # options that take a value still show its type


def test_read_only_commands_do_not_create_a_missing_home(tmp_path: Path) -> None:
    missing = tmp_path / "mistyped-home"
    runner = CliRunner()
    for command in (
        ["files"],
        ["jobs"],
        ["quarantine", "list"],
        ["schema", "list"],
        ["parser", "list"],
        ["audit"],
    ):
        result = runner.invoke(app, ["--home", str(missing), *command])
        assert result.exit_code == 1, command
        assert result.output == (
            f"error: no Casparian home at {missing} (create one with `casparian scan` or "
            "`casparian demo`)\n"
        ), command
        assert not missing.exists()
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("id\n1\n")
    assert runner.invoke(app, ["--home", str(missing), "scan", str(data)]).exit_code == 0
    assert (missing / "state.db").is_file()
    assert runner.invoke(app, ["--home", str(missing), "files"]).exit_code == 0


def test_demo_next_commands_are_whole_lines_on_a_narrow_terminal(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["demo", str(tmp_path / "demo"), "--files", "10"], env={"COLUMNS": "60"}
    )
    assert result.exit_code == 0, result.output
    home = tmp_path / "demo" / "home"
    assert f"next: casparian --home {home} files --tag invoices\n" in result.output
    (run_line,) = [line for line in result.output.splitlines() if " run " in line]
    assert run_line.startswith(f"      casparian --home {home} run {tmp_path / 'demo'}")
    assert run_line.endswith(str(tmp_path / "demo" / "files" / "invoices"))
