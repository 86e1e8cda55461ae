"""Runs validate against the APPROVED contract; a parser file that differs is reported (dev) or
refused (prod) with both hashes."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from casparian_engine.contracts import SchemaContract
from casparian_engine.runner.contracts_seam import contract_validator
from casparian_engine.runner.executor import ExecutionError
from casparian_engine.workspace import Workspace

from .cli_support import CASPARIAN

ZOO = Path(__file__).parent / "zoo"
APPROVED = SchemaContract.from_dict(
    {
        "name": "orders",
        "columns": [
            {"name": "id", "type": "int64", "nullable": False},
            {"name": "amount", "type": "float64", "min": 0, "max": 100},
        ],
    }
)
EDITED = SchemaContract.from_dict(
    {
        "name": "orders",
        "columns": [
            {"name": "id", "type": "int64", "nullable": False},
            {"name": "amount", "type": "float64", "min": 0, "max": 1000},
        ],
    }
)


@pytest.fixture
def parser_dir(tmp_path: Path) -> Path:
    """The zoo's contracted parser in its own folder, with the EDITED contract as its file."""
    folder = tmp_path / "parser"
    folder.mkdir()
    shutil.copy(ZOO / "contracted.py", folder / "contracted.py")
    (folder / "orders.contract.yaml").write_text(EDITED.to_yaml(), encoding="utf-8")
    return folder


@pytest.fixture
def orders_csv(tmp_path: Path) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text("id,amount\n1,50\n2,500\n3,-1\n", encoding="utf-8")
    return path


def _run(workspace: Workspace, parser_dir: Path, orders_csv: Path) -> tuple[object, list[str]]:
    warnings: list[str] = []

    def on_log(level: int, message: str) -> None:
        if level >= logging.WARNING:
            warnings.append(message)

    summary = workspace.parsers.run(parser_dir / "contracted.py", orders_csv, on_log=on_log)
    return summary, warnings


def test_without_an_approved_version_the_file_contract_applies(
    workspace: Workspace, parser_dir: Path, orders_csv: Path
) -> None:
    summary, warnings = _run(workspace, parser_dir, orders_csv)
    counts = summary.outputs["orders"]  # type: ignore[attr-defined]
    assert (counts.written, counts.quarantined) == (2, 1)
    assert warnings == []


def test_an_equal_approved_version_runs_quietly(
    workspace: Workspace, parser_dir: Path, orders_csv: Path
) -> None:
    workspace.contracts.approve(EDITED)
    summary, warnings = _run(workspace, parser_dir, orders_csv)
    assert summary.outputs["orders"].quarantined == 1  # type: ignore[attr-defined]
    assert warnings == []


def test_dev_validates_against_the_approved_version_and_warns_with_the_diff(
    workspace: Workspace, home: Path, parser_dir: Path, orders_csv: Path
) -> None:
    workspace.contracts.approve(APPROVED)
    summary, warnings = _run(workspace, parser_dir, orders_csv)
    counts = summary.outputs["orders"]  # type: ignore[attr-defined]
    assert (counts.written, counts.quarantined) == (1, 2)  # 500 breaks the approved max 100
    quarantined = pq.read_table(summary.targets["orders__quarantine"])  # type: ignore[attr-defined]
    assert sorted(quarantined.column("rules").to_pylist()) == ["range:amount", "range:amount"]
    contract_file = (parser_dir / "orders.contract.yaml").resolve()
    (warning,) = warnings
    first_line = warning.splitlines()[0]
    assert first_line == (
        f"output 'orders': contract file {contract_file} (hash {EDITED.content_hash[:12]}) "
        f"differs from approved contract 'orders' version 1 (hash {APPROVED.content_hash[:12]}); "
        "validating against the approved version (to use the file, approve it with "
        f"`casparian schema approve {contract_file}`):"
    )
    assert "-  max: 100\n+  max: 1000\n" in warning


def test_prod_refuses_a_contract_file_that_differs_from_the_approved_version(
    workspace: Workspace, parser_dir: Path
) -> None:
    workspace.contracts.approve(APPROVED)
    with pytest.raises(ExecutionError) as info:
        contract_validator(
            parser_dir,
            {"orders": "orders.contract.yaml"},
            approved=workspace.store.contracts.latest,
            strict=True,
        )
    contract_file = (parser_dir / "orders.contract.yaml").resolve()
    assert info.value.kind == "ContractNotApproved"
    assert info.value.retryable is False
    assert info.value.path == str(contract_file)
    assert info.value.message == (
        f"output 'orders': contract file {contract_file} (hash {EDITED.content_hash[:12]}) "
        f"differs from approved contract 'orders' version 1 (hash {APPROVED.content_hash[:12]}); "
        f"approve it with `casparian schema approve {contract_file}`"
    )


def test_prod_accepts_the_file_once_it_is_approved(workspace: Workspace, parser_dir: Path) -> None:
    workspace.contracts.approve(APPROVED)
    workspace.contracts.approve(EDITED)
    contract_validator(
        parser_dir,
        {"orders": "orders.contract.yaml"},
        approved=workspace.store.contracts.latest,
        strict=True,
    )
    assert workspace.store.contracts.latest("orders").version == 2  # type: ignore[union-attr]


def test_cli_run_prints_the_mismatch_on_stderr(
    workspace: Workspace, home: Path, parser_dir: Path, orders_csv: Path
) -> None:
    workspace.contracts.approve(APPROVED)
    done = subprocess.run(
        [CASPARIAN, "run", str(parser_dir / "contracted.py"), str(orders_csv)],
        capture_output=True,
        text=True,
        env={**os.environ, "CASPARIAN_HOME": str(home)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "[WARNING] output 'orders': contract file" in done.stderr
    assert "differs from approved contract 'orders' version 1" in done.stderr
