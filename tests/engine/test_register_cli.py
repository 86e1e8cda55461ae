"""The `parser register`, `vendor` and `env` commands, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from casparian_engine.cli.main import app

from .registration_support import make_parser


def test_register_prints_identity_then_is_idempotent(tmp_path: Path, home: Path) -> None:
    folder = make_parser(tmp_path / "p")
    (folder / "sample.csv").write_text("id,amount\n")
    runner = CliRunner()
    first = runner.invoke(app, ["--home", str(home), "parser", "register", str(folder), "--json"])
    assert first.exit_code == 0, first.output
    payload = json.loads(first.stdout)
    assert payload["created"] is True and payload["excluded"] == ["sample.csv"]
    again = runner.invoke(app, ["--home", str(home), "parser", "register", str(folder)])
    assert again.exit_code == 0
    assert "already registered with the same content" in again.stdout
    assert payload["identity"] in again.stdout.replace("\n", "")


def test_register_refused_by_the_gatekeeper_exits_1_with_the_findings(
    tmp_path: Path, home: Path
) -> None:
    folder = make_parser(tmp_path / "p", body="import subprocess")
    runner = CliRunner()
    refused = runner.invoke(app, ["--home", str(home), "parser", "register", str(folder)])
    assert refused.exit_code == 1
    assert "gatekeeper refused parser 'invoices' under policy 'strict'" in refused.stderr
    assert "[subprocess] imports 'subprocess'" in refused.stderr
    allowed = runner.invoke(
        app,
        ["--home", str(home), "parser", "register", str(folder), "--allow", "subprocess"],
    )
    assert allowed.exit_code == 0, allowed.output
    assert "allowed:" in allowed.stdout
    audit = runner.invoke(
        app, ["--home", str(home), "audit", "--json", "--action", "gatekeeper.allowed"]
    )
    assert [e["details"]["rules"] for e in json.loads(audit.stdout)] == [["subprocess"]]


def test_register_without_lockfile_exits_1_and_says_uv_lock(tmp_path: Path, home: Path) -> None:
    folder = make_parser(tmp_path / "p", lock=False)
    result = CliRunner().invoke(app, ["--home", str(home), "parser", "register", str(folder)])
    assert result.exit_code == 1
    assert "run `uv lock` in" in result.stderr.replace("\n", "")


def test_a_folder_without_a_parser_class_is_named_in_the_error(tmp_path: Path, home: Path) -> None:
    folder = make_parser(tmp_path / "p")
    (folder / "invoice_parser.py").write_text("def parse(path):\n    return None\n")
    result = CliRunner().invoke(app, ["--home", str(home), "parser", "register", str(folder)])
    assert result.exit_code == 1
    assert " ".join(result.stderr.split()) == (
        f"error: register {folder}: no parser class found: registration needs a Level-2 "
        "parser, `class MyParser(Parser)` with name, version and outputs"
    )


def test_vendor_and_env_build_list_clean(tmp_path: Path, home: Path) -> None:
    folder = make_parser(tmp_path / "p")
    runner = CliRunner()
    base = ["--home", str(home)]
    assert runner.invoke(app, [*base, "parser", "register", str(folder)]).exit_code == 0
    vendored = runner.invoke(app, [*base, "vendor", "invoices", "--json"])
    assert vendored.exit_code == 0, vendored.output
    assert json.loads(vendored.stdout)["copied"] == []  # no third-party dependencies
    built = runner.invoke(app, [*base, "env", "build", "invoices", "--offline"])
    assert built.exit_code == 0, built.output
    python = Path(built.stdout.strip())
    assert python.exists() and python.parent.parent.parent == home / "venvs"
    listed = json.loads(runner.invoke(app, [*base, "env", "list", "--json"]).stdout)
    assert [Path(e["path"]) for e in listed] == [python.parent.parent]
    cleaned = runner.invoke(app, [*base, "env", "clean", "--keep", "0"])
    assert "removed 1 environment" in cleaned.stdout
    missing = runner.invoke(app, [*base, "vendor", "nope"])
    assert missing.exit_code == 1 and "no parser 'nope' is registered" in missing.stderr
