"""Tester-found contract fixes: duplicate YAML keys, stale bundle contracts, binary discovery."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from casparian_engine.cli.main import app
from casparian_engine.contracts import ContractError, SchemaContract, validate
from casparian_engine.contracts.dialect import looks_binary
from casparian_engine.contracts.discover import DiscoveryError, discover
from casparian_engine.runner.contracts_seam import contract_validator
from casparian_engine.runner.executor import ExecutionError
from casparian_engine.runner.quarantine import RowLineage, StoreQuarantineWriter
from casparian_engine.source_lines import source_pointer
from casparian_engine.store.quarantine import QuarantineFilter
from casparian_engine.workspace import Workspace


def test_duplicate_key_in_a_column_is_refused_naming_file_line_and_key(
    home: Path, tmp_path: Path, workspace: Workspace
) -> None:
    dup = tmp_path / "dup.yaml"
    dup.write_text(
        "name: dup\ncolumns:\n  - name: a\n    type: int64\n    type: string\n", encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["schema", "approve", str(dup)])
    assert result.exit_code == 1
    assert (
        f"{dup}: line 5: key 'type' appears twice in the same mapping (first on line 4); keep one"
        in result.output.replace("\n", "")
    )
    assert workspace.store.contracts.latest("dup") is None


def test_duplicate_top_level_key_is_refused() -> None:
    text = "name: a\nname: b\ncolumns:\n  - {name: x, type: string, max_length: 5}\n"
    with pytest.raises(ContractError) as caught:
        SchemaContract.from_yaml(text, "c.yaml")
    assert str(caught.value) == (
        "c.yaml: line 2: key 'name' appears twice in the same mapping (first on line 1); keep one"
    )
    flow = "name: a\ncolumns:\n  - {name: x, type: string, max_length: 5, max_length: 200}\n"
    with pytest.raises(ContractError, match=r"c.yaml: line 3: key 'max_length' appears twice"):
        SchemaContract.from_yaml(flow, "c.yaml")


def test_same_key_in_different_mappings_is_fine() -> None:
    text = "name: a\ncolumns:\n  - name: x\n    type: string\n  - name: y\n    type: int64\n"
    assert SchemaContract.from_yaml(text).column_names == ["x", "y"]


def _orders(max_amount: int) -> SchemaContract:
    return SchemaContract.from_dict(
        {
            "name": "orders",
            "columns": [
                {"name": "id", "type": "int64", "nullable": False},
                {"name": "amount", "type": "float64", "max": max_amount},
            ],
        }
    )


def _check_contract_file(
    workspace: Workspace,
    folder: Path,
    file_contract: SchemaContract,
    strict: bool = False,
    on_warning: Callable[[str], None] | None = None,
) -> None:
    """Give a parser in ``folder`` the orders contract file ``file_contract`` and build its
    validator against the store's approved versions (prod when ``strict``)."""
    (folder / "orders.contract.yaml").write_text(file_contract.to_yaml(), encoding="utf-8")
    contract_validator(
        folder,
        {"orders": "orders.contract.yaml"},
        approved=workspace.store.contracts.latest,
        strict=strict,
        on_warning=on_warning,
        approved_by_hash=workspace.store.contracts.by_hash,
    )


def test_prod_bundle_built_against_an_older_version_says_so(
    workspace: Workspace, tmp_path: Path
) -> None:
    workspace.contracts.approve(_orders(100))
    workspace.contracts.approve(_orders(1000))
    with pytest.raises(ExecutionError) as info:
        _check_contract_file(workspace, tmp_path, _orders(100), strict=True)
    contract_file = tmp_path / "orders.contract.yaml"
    assert info.value.kind == "ContractNotApproved"
    assert info.value.message == (
        f"output 'orders': contract file {contract_file.resolve()} matches approved 'orders' "
        "version 1, but version 2 is now current: register a parser version built against "
        "version 2 (or re-approve version 1's content on purpose with "
        f"`casparian schema approve {contract_file.resolve()}`)"
    )


def test_prod_file_matching_no_approved_version_still_advises_approval(
    workspace: Workspace, tmp_path: Path
) -> None:
    workspace.contracts.approve(_orders(100))
    with pytest.raises(ExecutionError) as info:
        _check_contract_file(workspace, tmp_path, _orders(7), strict=True)
    contract_file = tmp_path / "orders.contract.yaml"
    assert info.value.message.endswith(
        f"differs from approved contract 'orders' version 1 (hash "
        f"{_orders(100).content_hash[:12]}); approve it with "
        f"`casparian schema approve {contract_file.resolve()}`"
    )


JUNK = bytes(range(256)) * 4  # every byte value: NULs and control bytes, as in binary data


def test_discover_refuses_a_binary_file_named_directly(home: Path, tmp_path: Path) -> None:
    scan = tmp_path / "scan_0001.csv"
    scan.write_bytes(b"\x89\x00\x1f" + JUNK)
    result = CliRunner().invoke(app, ["schema", "discover", str(scan), "-o", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert f"{scan}: looks binary, not delimited text" in result.output.replace("\n", "")
    assert not (tmp_path / "o").exists()


def test_discover_in_a_folder_skips_binary_and_empty_files_and_lists_them(
    home: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "a.csv").write_text("id,name\n1,x\n2,y\n", encoding="utf-8")
    (folder / "b.csv").write_bytes(JUNK)
    (folder / "c.csv").write_bytes(b"")
    out = tmp_path / "a.contract.yaml"
    result = CliRunner().invoke(app, ["schema", "discover", str(folder), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    proposal = out.read_text(encoding="utf-8")
    assert f"# Skipped {folder / 'b.csv'}: looks binary, not delimited text\n" in proposal
    assert f"# Skipped {folder / 'c.csv'}: the file is empty\n" in proposal
    assert SchemaContract.from_yaml(proposal).column_names == ["id", "name"]
    assert '"reason": "looks binary, not delimited text"' in result.output


def test_discover_in_a_folder_of_only_binary_files_names_each(tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_bytes(JUNK)
    with pytest.raises(DiscoveryError) as info:
        discover([tmp_path], "x")
    assert str(info.value) == (
        f"no delimited text files in {tmp_path}; skipped {tmp_path / 'b.csv'}: "
        "looks binary, not delimited text"
    )


def test_scope_discovery_reports_binary_and_empty_files_as_skipped(
    workspace: Workspace, tmp_path: Path
) -> None:
    good = tmp_path / "a.csv"
    good.write_text("id,name\n1,x\n2,y\n", encoding="utf-8")
    (tmp_path / "b.csv").write_bytes(JUNK)
    (tmp_path / "c.csv").write_bytes(b"")
    report = workspace.contracts.discover([good, tmp_path / "b.csv", tmp_path / "c.csv"])
    assert [p.stored.contract.column_names for p in report.proposals] == [["id", "name"]]
    assert report.skipped == (
        (str(tmp_path / "b.csv"), "looks binary, not delimited text"),
        (str(tmp_path / "c.csv"), "the file is empty"),
    )


def test_text_with_one_stray_nul_and_utf16_are_not_binary() -> None:
    assert not looks_binary(b"col1|col2\nval1|val\x002\n", "utf-8")
    assert not looks_binary("a,b\n1,2\n".encode("utf-16"), "utf-16")
    assert looks_binary(JUNK, "latin-1")


def _quarantine_one(home: Path, job_id: int = 7) -> int:
    """One quarantined row of /data/m.csv at source row 3; its id."""
    contract = SchemaContract.from_dict(
        {"name": "meters", "columns": [{"name": "reading", "type": "float64"}]}
    )
    result = validate(pa.table({"reading": ["x"], "_cf_row": [3]}), contract)

    lineage = RowLineage(
        "/data/m.csv", "abc", job_id, "meters", "1.0", "meters", contract.content_hash
    )
    with Workspace.open(home) as workspace:
        workspace.contracts.approve(contract)
        StoreQuarantineWriter(workspace.store).write(result.quarantined, lineage)
        (row,) = workspace.quarantine.list(QuarantineFilter())
    return row.id


def test_quarantine_list_and_show_say_row_not_line(home: Path) -> None:
    row_id = _quarantine_one(home)
    runner = CliRunner()
    listed = runner.invoke(app, ["quarantine", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert f"{row_id:>8}  job 7  meters 1.0/meters  /data/m.csv row 3  cast:reading" in (
        listed.output
    )
    shown = runner.invoke(app, ["quarantine", "show", str(row_id)], env={"COLUMNS": "200"})
    assert shown.output.splitlines()[0] == f"quarantined row {row_id}: /data/m.csv row 3"
    assert " line " not in listed.output + shown.output
    assert source_pointer(None) == "row ?"


def test_replay_of_an_unknown_job_says_no_job(home: Path) -> None:
    _quarantine_one(home, job_id=7)
    runner = CliRunner()
    result = runner.invoke(app, ["quarantine", "replay", "--job", "99999"])
    assert result.exit_code == 1
    assert result.output == "error: no job 99999\n"
    result = runner.invoke(app, ["quarantine", "replay", "--job", "7"])
    assert result.exit_code == 0, result.output
    assert "meters/meters: 0 of 1 row now pass meters v1; 1 stay quarantined" in result.output


def test_dev_run_with_a_file_of_an_older_version_warns_so(
    workspace: Workspace, tmp_path: Path
) -> None:
    workspace.contracts.approve(_orders(100))
    workspace.contracts.approve(_orders(1000))
    warnings: list[str] = []
    _check_contract_file(workspace, tmp_path, _orders(100), on_warning=warnings.append)
    contract_file = tmp_path / "orders.contract.yaml"
    (warning,) = warnings
    assert warning.splitlines()[0] == (
        f"output 'orders': contract file {contract_file.resolve()} matches approved 'orders' "
        "version 1, but version 2 is now current; validating against version 2 (update the file "
        "to it, or re-approve version 1's content on purpose with "
        f"`casparian schema approve {contract_file.resolve()}`):"
    )
    assert "-  max: 1000\n+  max: 100\n" in warning


def test_a_reviewer_edit_adding_a_second_max_length_is_refused_not_unchanged() -> None:
    text = (
        "name: invoices\ncolumns:\n  - name: memo\n    type: string\n"
        "    max_length: 5\n    max_length: 200\n"
    )
    with pytest.raises(ContractError) as caught:
        SchemaContract.from_yaml(text, "invoices.contract.yaml")
    assert str(caught.value) == (
        "invoices.contract.yaml: line 6: key 'max_length' appears twice in the same mapping "
        "(first on line 5); keep one"
    )


def test_registered_bundle_of_an_older_contract_version_fails_naming_both_versions(
    tmp_path: Path, home: Path
) -> None:
    from casparian_engine.config import load_config
    from casparian_engine.demo.home import create_demo_workspace
    from casparian_engine.runner.worker import Worker, WorkerOptions

    demo = create_demo_workspace(tmp_path / "demo", 20)
    with Workspace.open(demo.home_dir) as workspace:
        first = workspace.store.contracts.latest("invoices")
        assert first is not None and first.version == 1
        newer = SchemaContract.from_dict({**first.contract.to_dict(), "description": "v2"})
        assert workspace.contracts.approve(newer).current.version == 2
        workspace.jobs.enqueue("invoices")
    worker = Worker(load_config(demo.home_dir), WorkerOptions(parser_names=("invoices",)))
    worker.run()
    failed = worker.store.jobs.find(status="failed", limit=100)
    worker.store.close()
    assert failed and {j.error_kind for j in failed} == {"ContractNotApproved"}
    message = failed[0].error_message or ""
    assert "matches approved 'invoices' version 1, but version 2 is now current: register a " in (
        message
    )
    assert "parser version built against version 2 (or re-approve version 1's content" in message
