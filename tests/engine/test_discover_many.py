"""`schema discover` over many files in one process: folders, quoted glob patterns and tags; the
JSON lists every file's dialect with its confidence, and files of different shapes get one
proposal each."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from casparian_engine.cli.main import app
from casparian_engine.workspace import Workspace


def write_files(folder: Path) -> None:
    (folder / "a").mkdir(parents=True)
    (folder / "b").mkdir()
    (folder / "a" / "jan.csv").write_text("id,amount\n1,2.5\n2,3.5\n")
    (folder / "a" / "feb.csv").write_text("id,amount\n3,4.5\n4,5.5\n")
    (folder / "b" / "sensors.txt").write_text("ts;temp\n2024-01-01;20,5\n2024-01-02;21,0\n")
    (folder / "b" / "empty.csv").write_text("")


def test_a_folder_of_two_shapes_lists_every_file_and_proposes_each_shape(
    home: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    write_files(data)
    out = tmp_path / "proposals"
    result = CliRunner().invoke(
        app, ["schema", "discover", str(data), "--json", "-o", str(out), "-p", "q1"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    files = {Path(f["path"]).name: f for f in payload["files"]}
    assert sorted(files) == ["feb.csv", "jan.csv", "sensors.txt"]
    for name in ("jan.csv", "feb.csv"):
        dialect = files[name]["dialect"]
        assert (dialect["delimiter"], dialect["quote"], dialect["header"]) == (",", "", True)
        assert 0 < dialect["confidence"] <= 1
        assert files[name]["columns"] == ["id", "amount"]
    assert files["sensors.txt"]["dialect"]["delimiter"] == ";"
    proposals = {p["name"]: p for p in payload["proposals"]}
    assert len(proposals) == 2
    shapes = sorted(tuple(c["name"] for c in p["contract"]["columns"]) for p in proposals.values())
    assert shapes == [("id", "amount"), ("ts", "temp")]
    for proposal in proposals.values():
        assert Path(proposal["file"]).parent == out and Path(proposal["file"]).is_file()
    assert payload["skipped"] == [
        {"path": str(data / "b" / "empty.csv"), "reason": "the file is empty"}
    ]
    with Workspace.open(home) as workspace:  # each proposal is audited, as MCP's are
        audited = workspace.audit_entries(action="contract.propose")
    assert sorted((e.subject, e.details["files"]) for e in audited) == sorted(
        (name, proposal["file_count"]) for name, proposal in proposals.items()
    )


def test_a_glob_and_a_tag_pick_the_files(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_files(data)
    out = tmp_path / "jan_feb.contract.yaml"
    pattern = str(data / "**" / "*.csv")
    result = CliRunner().invoke(app, ["schema", "discover", pattern, "--json", "-o", str(out)])
    assert result.exit_code == 1
    assert f"{data / 'b' / 'empty.csv'}: the file is empty" in result.output
    pattern = str(data / "a" / "*.csv")
    result = CliRunner().invoke(app, ["schema", "discover", pattern, "--json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert [Path(f["path"]).name for f in payload["files"]] == ["feb.csv", "jan.csv"]
    assert [c["name"] for c in payload["contract"]["columns"]] == ["id", "amount"]
    with Workspace.open(home) as workspace:
        workspace.scan(data)
        workspace.tag_files([str(data / "b" / "sensors.txt")], "sensors")
    result = CliRunner().invoke(
        app, ["schema", "discover", "--tag", "sensors", "--json", "-o", str(tmp_path / "s.yaml")]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert [Path(f["path"]).name for f in payload["files"]] == ["sensors.txt"]
    assert payload["dialect"]["delimiter"] == ";"
    result = CliRunner().invoke(app, ["schema", "discover", str(data / "nothing*.csv")])
    assert result.exit_code == 1
    assert f"{data / 'nothing*.csv'}: no file matches this pattern" in result.output
    result = CliRunner().invoke(app, ["schema", "discover", "--tag", "nope"])
    assert result.exit_code == 1 and "no file in the inventory is tagged 'nope'" in result.output
