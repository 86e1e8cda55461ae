"""Contracts in the store (versions, immutability, audit) and the `casparian schema` commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from casparian_engine.cli.main import app
from casparian_engine.contracts import ContractError, SchemaContract
from casparian_engine.workspace import Workspace

BODY = {"name": "sales", "columns": [{"name": "id", "type": "int64", "nullable": False}]}


def test_hash_is_canonical_and_yaml_round_trips() -> None:
    contract = SchemaContract.from_dict(BODY)
    again = SchemaContract.from_yaml(contract.to_yaml())
    assert again == contract and again.content_hash == contract.content_hash
    changed = SchemaContract.from_dict({**BODY, "columns": [{"name": "id", "type": "int32"}]})
    assert changed.content_hash != contract.content_hash


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\ncolumns: []", "x.yaml: key 'columns' must be a non-empty list"),
        ("name: x\ncolumns: [{name: a, type: int9}]", "columns[0] ('a'): key 'type': unknown type"),
        ("name: x\ncolumns: [{name: a, type: int64, pattern: '[0-9]'}]", "apply to string/binary"),
        ("name: x\ncolumns: [{name: a, type: int64, colour: red}]", "unknown key 'colour'"),
        ("name: x\ncolumns: [{name: _cf_row, type: int64}]", "reserved for lineage"),
        ("name: x\ncolumns: [{name: a, type: int8}, {name: a, type: int8}]", "'a' appears twice"),
        (
            "name: x\ncolumns: [{name: a, type: date, min: soon}]",
            "key 'min' = 'soon' is not a date",
        ),
    ],
)
def test_bad_contract_files_name_file_column_and_key(text: str, message: str) -> None:
    with pytest.raises(ContractError) as info:
        SchemaContract.from_yaml(text, "x.yaml")
    assert message in str(info.value)


def test_approval_versions_are_immutable_and_audited(workspace: Workspace) -> None:
    first = workspace.contracts.approve(SchemaContract.from_dict(BODY))
    assert first.created and first.current.version == 1 and first.previous is None
    same = workspace.contracts.approve(SchemaContract.from_dict(BODY))
    assert not same.created and same.current.id == first.current.id
    changed = SchemaContract.from_dict({**BODY, "columns": [{"name": "id", "type": "int32"}]})
    second = workspace.contracts.approve(changed)
    assert second.current.version == 2 and second.previous == first.current
    versions = workspace.contracts.versions("sales")
    assert [v.contract for v in versions] == [SchemaContract.from_dict(BODY), changed]
    entries = workspace.store.audit.list(action="contract.approve")
    assert [e.details["version"] for e in entries] == [2, 1]
    assert entries[0].details["previous_hash"] == first.current.content_hash


def test_schema_cli_discover_approve_show_list_diff(home: Path, tmp_path: Path) -> None:
    (tmp_path / "orders").mkdir()
    sample = tmp_path / "orders" / "2024-05.csv"  # the contract is named after its folder
    sample.write_text("id;amount;day\n1;2,5;31/05/24\n2;N/A;01/06/24\n", encoding="utf-8")
    proposal = tmp_path / "orders.contract.yaml"
    runner = CliRunner()
    result = runner.invoke(app, ["schema", "discover", str(sample), "-o", str(proposal)])
    assert result.exit_code == 0, result.output
    assert "delimiter ';'" in proposal.read_text()
    contract = SchemaContract.from_yaml(proposal.read_text())
    assert [c.type for c in contract.columns] == ["int64", "float64", "date"]
    assert contract.column("day").format == "%d/%m/%y"
    assert contract.column("amount").null_values == ("", "N/A")
    with Workspace.open(home) as workspace:  # the CLI's proposal is audited as MCP's is
        (proposed,) = workspace.audit.entries(action="contract.propose")
    assert (proposed.subject, proposed.details["version"], proposed.details["files"]) == (
        "orders",
        1,
        1,
    )
    result = runner.invoke(app, ["schema", "approve", str(proposal)])
    assert result.exit_code == 0, result.output
    assert "+++ version 1" in result.output and "Approved 'orders' version 1" in result.output
    proposal.write_text(proposal.read_text().replace("type: int64", "type: int32"))
    result = runner.invoke(app, ["schema", "approve", str(proposal)])
    assert "-  type: int64" in result.output and "+  type: int32" in result.output
    result = runner.invoke(app, ["schema", "diff", "orders", "1", "2"])
    assert "+  type: int32" in result.output
    result = runner.invoke(app, ["schema", "list"])
    assert "orders" in result.output and "v2" in result.output and "approved" in result.output
    result = runner.invoke(app, ["schema", "show", "orders", "--version", "1"])
    assert "type: int64" in result.output
    result = runner.invoke(app, ["schema", "approve", "nope"])
    assert result.exit_code == 1
    assert "'nope' is neither a contract file nor a proposed contract's name" in result.output


def test_schema_cli_approves_several_files_or_none_when_one_is_bad(
    home: Path, tmp_path: Path, workspace: Workspace
) -> None:
    good = tmp_path / "a.contract.yaml"
    good.write_text(SchemaContract.from_dict({**BODY, "name": "a"}).to_yaml(), encoding="utf-8")
    other = tmp_path / "b.contract.yaml"
    other.write_text(SchemaContract.from_dict({**BODY, "name": "b"}).to_yaml(), encoding="utf-8")
    bad = tmp_path / "bad.contract.yaml"
    bad.write_text("name: bad\ncolumns: []\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["schema", "approve", str(good), str(bad)])
    assert result.exit_code == 1
    assert f"{bad}: key 'columns' must be a non-empty list" in result.output.replace("\n", "")
    assert workspace.store.contracts.latest("a") is None
    result = runner.invoke(app, ["schema", "approve", str(good), str(other)])
    assert result.exit_code == 0, result.output
    assert "Approved 'a' version 1" in result.output and "Approved 'b' version 1" in result.output
