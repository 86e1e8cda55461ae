"""`schema discover` over many files in one process: folders, quoted glob patterns and tags go
through ``ws.contracts.discover`` (the discovery MCP and the TUI use): files grouped by
shape, one audited proposal per shape, the JSON lists every file's dialect with its confidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from casparian_engine.cli.main import app
from casparian_engine.contracts import grouping
from casparian_engine.tools.registry import REGISTRY, ToolContext, ToolGuard, call_tool
from casparian_engine.workspace import Workspace

SHAPE_A = "encoding utf-8, delimiter ',', no quote character, header yes, preamble lines 0"
SHAPE_B = "encoding utf-8, delimiter ';', no quote character, header yes, preamble lines 0"


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
    args = ["schema", "discover", str(data), "-o", str(out), "-p", "q1"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"Skipped {data / 'b' / 'empty.csv'}: the file is empty\n"
        f"{out / 'q1_a.contract.yaml'}: 2 files, {SHAPE_A} (confidence 0.97)\n"
        f"{out / 'q1_b.contract.yaml'}: 1 file, {SHAPE_B} (confidence 0.92)\n"
        "2 proposals written. Approve each with: casparian schema approve\n"
    )
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    files = {Path(f["path"]).name: f for f in payload["files"]}
    assert sorted(files) == ["feb.csv", "jan.csv", "sensors.txt"]
    assert (payload["files_total"], payload["files_sniffed"]) == (4, 4)
    for name in ("jan.csv", "feb.csv"):
        dialect = files[name]["dialect"]
        assert (dialect["delimiter"], dialect["quote"], dialect["header"]) == (",", "", True)
        assert 0 < dialect["confidence"] <= 1
        assert files[name]["columns"] == ["id", "amount"]
    assert files["sensors.txt"]["dialect"]["delimiter"] == ";"
    proposals = {p["name"]: p for p in payload["proposals"]}
    assert sorted(proposals) == ["q1_a", "q1_b"]
    assert (proposals["q1_a"]["file_count"], proposals["q1_b"]["file_count"]) == (2, 1)
    assert proposals["q1_b"]["dialect"]["delimiter"] == ";"
    assert proposals["q1_b"]["dialect_text"] == SHAPE_B
    shapes = sorted(tuple(c["name"] for c in p["contract"]["columns"]) for p in proposals.values())
    assert shapes == [("id", "amount"), ("ts", "temp")]
    for name, proposal in proposals.items():
        assert proposal["file"] == str(out / f"{name}.contract.yaml")
        assert Path(proposal["file"]).read_text() == proposal["proposal_yaml"]
        assert (
            f"# Skipped {data / 'b' / 'empty.csv'}: the file is empty\n"
            in (proposal["proposal_yaml"])
        )
    assert payload["skipped"] == [
        {"path": str(data / "b" / "empty.csv"), "reason": "the file is empty"}
    ]
    with Workspace.open(home) as workspace:  # each proposal is audited, as MCP's are
        audited = workspace.audit.entries(action="contract.propose")
    assert sorted((e.subject, e.details["files"]) for e in audited) == [
        ("q1_a", 2), ("q1_a", 2), ("q1_b", 1), ("q1_b", 1)
    ]  # fmt: skip


def test_a_glob_and_a_tag_pick_the_files(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_files(data)
    out = tmp_path / "jan_feb.contract.yaml"
    pattern = str(data / "**" / "*.csv")  # the empty file is named, and skipped as in a folder
    result = CliRunner().invoke(app, ["schema", "discover", pattern, "--json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert [Path(f["path"]).name for f in payload["files"]] == ["feb.csv", "jan.csv"]
    (proposal,) = payload["proposals"]
    assert proposal["name"] == "a"  # named after the folder of its files
    assert [c["name"] for c in proposal["contract"]["columns"]] == ["id", "amount"]
    assert payload["skipped"] == [
        {"path": str(data / "b" / "empty.csv"), "reason": "the file is empty"}
    ]
    with Workspace.open(home) as workspace:
        workspace.files.scan(data)
        workspace.files.tag([str(data / "b" / "sensors.txt")], "sensors")
    result = CliRunner().invoke(
        app, ["schema", "discover", "--tag", "sensors", "--json", "-o", str(tmp_path / "s.yaml")]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert [Path(f["path"]).name for f in payload["files"]] == ["sensors.txt"]
    (proposal,) = payload["proposals"]
    assert (proposal["name"], proposal["dialect"]["delimiter"]) == ("b", ";")  # its folder
    result = CliRunner().invoke(app, ["schema", "discover", str(data / "nothing*.csv")])
    assert result.exit_code == 1
    assert result.output == f"error: {data / 'nothing*.csv'}: no file matches this pattern\n"
    result = CliRunner().invoke(app, ["schema", "discover", "--tag", "nope"])
    assert result.exit_code == 1
    assert result.output == "error: no file in the inventory is tagged 'nope'\n"


def test_nothing_to_discover_names_each_file_left_out(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_files(data)
    missing = data / "gone.csv"
    result = CliRunner().invoke(
        app, ["schema", "discover", str(data / "b" / "empty.csv"), str(missing)]
    )
    assert result.exit_code == 1
    assert result.output.replace("\n", "") == (
        f"error: no delimited text file to discover: {missing}: no such file or folder; "
        f"{data / 'b' / 'empty.csv'}: the file is empty"
    )
    with Workspace.open(home) as workspace:
        assert workspace.audit.entries(action="contract.propose") == []


def test_more_files_than_are_sniffed_are_sampled_evenly_and_say_so(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(grouping, "MAX_FILES_SNIFFED", 3)
    data = tmp_path / "data"
    (data / "a").mkdir(parents=True)
    for month in range(1, 8):
        (data / "a" / f"m{month}.csv").write_text(f"id,amount\n{month},2.5\n")
    out = tmp_path / "a.yaml"
    result = CliRunner().invoke(app, ["schema", "discover", str(data), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert [Path(f["path"]).name for f in payload["files"]] == ["m1.csv", "m4.csv", "m7.csv"]
    assert (payload["files_total"], payload["files_sniffed"]) == (7, 3)
    assert payload["proposals"][0]["file_count"] == 7
    result = CliRunner().invoke(app, ["schema", "discover", str(data), "-o", str(out)])
    assert result.output.splitlines()[0] == (
        "Sniffed 3 of 7 files (an even spread); each proposal's file count is an estimate."
    )


def test_the_cli_and_the_mcp_tool_propose_the_same_contracts(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_files(data)
    files = sorted(str(p) for p in data.rglob("*") if p.is_file())
    result = CliRunner().invoke(
        app, ["schema", "discover", *files, "--json", "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    cli = json.loads(result.output)
    with Workspace.open(home) as workspace:
        context = ToolContext(workspace, ToolGuard(allowed_paths=(data,)))
        mcp = call_tool(REGISTRY["discover_schemas"], context, {"files": files})
        audited = workspace.audit.entries(action="contract.propose")
    same = ("name", "file_count", "dialect", "contract", "proposal_yaml", "warnings")
    assert [{k: p[k] for k in same} for p in cli["proposals"]] == [
        {k: p[k] for k in same} for p in mcp["proposals"]
    ]
    assert [p["name"] for p in cli["proposals"]] == ["a", "b"]
    assert (
        cli["skipped"]
        == mcp["skipped"]
        == [{"path": str(data / "b" / "empty.csv"), "reason": "the file is empty"}]
    )
    assert sorted(e.subject for e in audited) == ["a", "a", "b", "b"]  # both faces audit
