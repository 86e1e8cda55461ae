"""New-user fix: an evidence export right after a backfill verifies, and says what was replaced."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from casparian_engine.cli.main import app
from casparian_engine.contracts import SchemaContract
from casparian_engine.workspace import Workspace

from .real_bundles import failing_on, register
from .registration_support import CONTRACT


def test_export_after_backfill_records_superseded_outputs_and_verifies(
    home: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data" / "invoices"
    data.mkdir(parents=True)
    for number in range(3):
        (data / f"inv{number}.csv").write_text(f"id,amount\n{number},{number}.5\n")
    (data / "permanent.csv").write_text("id\n1\n")  # the parser fails it: bad header
    with Workspace.open(home) as workspace:
        workspace.files.scan(tmp_path / "data")
        register(workspace, tmp_path / "v1", body=failing_on("permanent"))
        first = workspace.jobs.process(workers=1)
        assert (first.counts["completed"], first.counts["failed"]) == (3, 1)
        register(workspace, tmp_path / "v2", body=failing_on("permanent"), version="1.1.0")
        backfill = workspace.outputs.backfill("invoices", workers=1)
        assert backfill.swapped
        contract = SchemaContract.from_yaml(CONTRACT)  # approved by `register`
        old_jobs = {j.id for j in workspace.store.jobs.find(parser_name="invoices")} - {
            j.id for j in workspace.store.jobs.find(batch_id=backfill.batch_id)
        }
    evidence = tmp_path / "evidence"
    result = CliRunner().invoke(app, ["audit", "export", str(evidence)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((evidence / "manifest.json").read_text())
    assert not any(o.get("missing") for o in manifest["outputs"])
    superseded = [j for j in manifest["jobs"] if j.get("superseded_by_batch")]
    assert {j["id"] for j in superseded} == old_jobs - {f["id"] for f in manifest["failed_jobs"]}
    assert len(superseded) == 3
    assert all(j["superseded_by_batch"] == backfill.batch_id for j in superseded)
    assert all(j["outputs"] == [] and j["superseded_outputs"] for j in superseded)
    current = [j for j in manifest["jobs"] if not j.get("superseded_by_batch")]
    assert {j["parser_version"] for j in current} == {"1.1.0"} and len(current) == 3
    (failed,) = manifest["failed_jobs"]
    assert failed["input_path"] == str(data / "permanent.csv") and failed["status"] == "failed"
    (approved,) = manifest["contracts"]
    assert (approved["name"], approved["version"]) == ("invoices", 1)
    assert approved["content_hash"] == contract.content_hash and approved["approved_by"]
    summary = (evidence / "SUMMARY.md").read_text()
    assert "MISSING" not in summary
    assert f"superseded by backfill {backfill.batch_id}" in summary
    assert "## Failed jobs (1)" in summary and "## Approved contracts (1)" in summary
    verified = CliRunner().invoke(app, ["audit", "verify", str(evidence)])
    assert verified.exit_code == 0, verified.output
