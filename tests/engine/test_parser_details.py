"""The engine behind the TUI's workflow keys: per-column confidence of a proposal, the diff an
approval would make, a registered parser's contracts as a prod run resolves them, and which copy
of a parser a dev run uses."""

from __future__ import annotations

import shutil
from pathlib import Path

from casparian_engine.contracts import ColumnSpec, SchemaContract
from casparian_engine.contracts.confidence import ColumnConfidence, column_confidences
from casparian_engine.workspace import Workspace
from tests.engine.registration_support import make_parser


def test_a_column_is_trusted_as_far_as_the_dialect_less_its_open_choices() -> None:
    found = column_confidences(
        ["id", "day"], 0.9, {"day": ["%d/%m/%Y", "%m/%d/%Y"], "id": []}, rows_sampled=40
    )
    assert found == (
        ColumnConfidence("id", 0.9),
        ColumnConfidence("day", 0.45, "also parses as %m/%d/%Y"),
    )
    assert column_confidences(["id"], 0.9, {}, rows_sampled=1) == (
        ColumnConfidence("id", 0.45, "only 1 row sampled"),
    )


def contract(*names: str) -> SchemaContract:
    return SchemaContract(name="sales", columns=tuple(ColumnSpec(n, "int64") for n in names))


def test_the_approval_diff_is_against_the_newest_approved_version(workspace: Workspace) -> None:
    first = contract("id")
    assert workspace.contracts.approval_diff(first).splitlines()[:3] == [
        "--- (no approved version)",
        "+++ version 1 (proposed)",
        "@@ -0,0 +1,4 @@",
    ]
    workspace.contracts.approve(first)
    assert workspace.contracts.approval_diff(first) == ""  # approving it again changes nothing
    diff = workspace.contracts.approval_diff(contract("id", "qty")).splitlines()
    assert diff[:2] == ["--- version 1", "+++ version 2 (proposed)"]
    assert diff[-2:] == ["+- name: qty", "+  type: int64"]


def test_a_parsers_contracts_say_whether_the_bundle_is_the_approved_version(
    workspace: Workspace, tmp_path: Path
) -> None:
    folder = make_parser(tmp_path / "parser")
    workspace.parsers.register(folder)
    (choice,) = workspace.parsers.details("invoices").contracts
    assert (choice.output, choice.approved, choice.differs) == ("invoices", None, False)
    text = (folder / "invoices.contract.yaml").read_text()
    workspace.contracts.approve(SchemaContract.from_yaml(text.replace("float64", "string")))
    (choice,) = workspace.parsers.details("invoices").contracts
    assert choice.differs and choice.approved is not None and choice.approved.version == 1
    assert "-  type: string" in choice.diff() and "+  type: float64" in choice.diff()


def test_a_dev_run_uses_the_source_folder_while_it_exists_else_the_bundle(
    workspace: Workspace, tmp_path: Path
) -> None:
    folder = make_parser(tmp_path / "parser")
    workspace.parsers.register(folder)
    entry, origin = workspace.parsers.dev_entry("invoices")
    assert (entry, origin) == (folder.resolve() / "invoice_parser.py", f"source folder {folder}")
    shutil.rmtree(folder)
    entry, origin = workspace.parsers.dev_entry("invoices")
    assert origin == "registered bundle"
    assert entry.name == "invoice_parser.py" and entry.is_file()
    assert workspace.parsers.details("invoices").source_exists is False


def test_a_dev_run_refuses_no_samples_and_more_samples_than_it_takes(
    workspace: Workspace, tmp_path: Path
) -> None:
    import pytest

    from casparian_engine.lab import LabError
    from casparian_engine.lab.samples import MAX_SAMPLE_FILES
    from casparian_engine.lab.trial import try_registered

    workspace.parsers.register(make_parser(tmp_path / "parser"))
    with pytest.raises(LabError) as caught:
        try_registered(workspace, "invoices", [])
    assert str(caught.value) == "no sample files chosen for a dev run of invoices"
    many = [tmp_path / f"s{n}.csv" for n in range(MAX_SAMPLE_FILES + 1)]
    with pytest.raises(LabError) as caught:
        try_registered(workspace, "invoices", many)
    assert str(caught.value) == (
        f"{MAX_SAMPLE_FILES + 1} sample files chosen for invoices; a dev run takes at most "
        f"{MAX_SAMPLE_FILES}"
    )
    assert not (workspace.home / "dev-output").exists()  # refused before anything ran


def test_a_registration_preview_stores_and_audits_nothing(
    workspace: Workspace, tmp_path: Path
) -> None:
    folder = make_parser(tmp_path / "parser")
    preview = workspace.parsers.preview_registration(folder)
    assert (preview.name, preview.version, preview.change, preview.problem) == (
        "invoices",
        "1.0.0",
        "new parser",
        "",
    )
    assert workspace.parsers.list() == [] and workspace.audit.entries() == []
    registration = workspace.parsers.register(folder)
    assert preview.identity == registration.identity
    assert workspace.parsers.preview_registration(folder).change == "already registered"
    newer = make_parser(tmp_path / "parser2", version="2.0.0")
    later = workspace.parsers.preview_registration(newer)
    assert (later.change, later.current_version) == ("new version", "1.0.0")


def test_a_dev_run_of_a_parser_whose_folder_is_gone_runs_its_registered_bundle(
    workspace: Workspace, tmp_path: Path
) -> None:
    from casparian_engine.lab.trial import try_registered

    folder = make_parser(tmp_path / "parser")
    workspace.parsers.register(folder)
    shutil.rmtree(folder)
    sample = tmp_path / "inv.csv"
    sample.write_text("id,amount\n1,2.5\n2,x\n")
    result = try_registered(workspace, "invoices", [sample])
    assert result.origin == "registered bundle"
    assert (result.written, result.quarantined, result.failure) == (1, 1, None)
    scratch = workspace.home / "dev-output" / "samples" / "invoices"
    assert sorted(p.name for p in scratch.iterdir()) == ["invoices", "invoices__quarantine"]
    assert workspace.outputs.tables() == []  # production outputs untouched
