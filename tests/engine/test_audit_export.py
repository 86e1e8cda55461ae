"""Evidence export: manifest, summary, bundles; `verify` recomputes hashes and catches tampering."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from casparian_engine.cli.main import app
from casparian_engine.store.job_models import JobOutcome, NewJob
from casparian_engine.workspace import Workspace

from .registration_support import make_parser


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def processed_workspace(tmp_path: Path, workspace: Workspace) -> tuple[list[Path], list[Path]]:
    """A registered parser and two completed jobs, each with a real input and Parquet output."""
    workspace.parsers.register(make_parser(tmp_path / "parser"))
    inputs, outputs = [], []
    for number in range(2):
        source = tmp_path / "invoices" / f"jan{number}.csv"
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(f"id,amount\n{number},{number}.5\n")
        inputs.append(source)
    workspace.store.jobs.enqueue(
        [NewJob("invoices", "1.0.0", str(p), input_hash=sha256_of(p)) for p in inputs]
    )
    lease = workspace.store.jobs.claim("worker-1", limit=2)
    for job in lease.jobs:
        output = tmp_path / "output" / f"part-{job.id}.parquet"
        output.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"id": [job.id], "amount": [1.5]}), output)
        outputs.append(output)
        outcome = JobOutcome(rows_emitted=1, rows_written=1, output_paths=(str(output),))
        assert workspace.store.jobs.complete(job.id, lease.token, outcome)
    return inputs, outputs


def test_export_writes_a_manifest_a_third_party_can_verify(
    tmp_path: Path, workspace: Workspace
) -> None:
    inputs, outputs = processed_workspace(tmp_path, workspace)
    evidence = tmp_path / "evidence"
    manifest = workspace.audit.export(evidence)
    on_disk = json.loads((evidence / "manifest.json").read_text())
    assert on_disk["format"] == "casparian-evidence-v1"
    assert manifest["parsers"][0]["identity"] == workspace.parsers.get("invoices").identity_hash  # type: ignore[union-attr]
    assert (evidence / "bundles" / "invoices-1.0.0.zip").is_file()
    assert [i["sha256"] for i in on_disk["inputs"]] == [sha256_of(p) for p in inputs]
    assert [o["sha256"] for o in on_disk["outputs"]] == [sha256_of(p) for p in outputs]
    job = on_disk["jobs"][0]
    assert job["parser"] == "invoices" and job["parser_version"] == "1.0.0"
    assert job["started_at"] and job["finished_at"] and job["outputs"] == [str(outputs[0])]
    assert [e["action"] for e in on_disk["audit"]] == ["parser.registered"]
    summary = (evidence / "SUMMARY.md").read_text()
    assert "**invoices 1.0.0**" in summary and str(inputs[0]) in summary
    manifest_hash = sha256_of(evidence / "manifest.json")
    assert (evidence / "manifest.sha256").read_text() == f"{manifest_hash}  manifest.json\n"
    check = workspace.audit.verify(evidence)
    assert check.ok and check.problems == ()
    assert check.checked == 1 + 1 + 2 + 2
    (exported,) = workspace.audit.entries(action="audit.exported")
    assert exported.details["manifest_sha256"] == manifest_hash


def test_a_tampered_output_is_detected(tmp_path: Path, workspace: Workspace) -> None:
    _, outputs = processed_workspace(tmp_path, workspace)
    evidence = tmp_path / "evidence"
    workspace.audit.export(evidence)
    recorded = sha256_of(outputs[1])
    pq.write_table(pa.table({"id": [999], "amount": [0.0]}), outputs[1])
    check = workspace.audit.verify(evidence)
    assert not check.ok
    assert check.problems == (
        f"output {outputs[1]}: SHA-256 is {sha256_of(outputs[1])}, the manifest records {recorded}",
    )


def test_changed_input_deleted_output_and_edited_manifest_are_each_reported(
    tmp_path: Path, workspace: Workspace
) -> None:
    inputs, outputs = processed_workspace(tmp_path, workspace)
    evidence = tmp_path / "evidence"
    workspace.audit.export(evidence)
    recorded_input = sha256_of(inputs[0])
    recorded_output = sha256_of(outputs[0])
    inputs[0].write_text("id,amount\n0,1000000\n")
    outputs[0].unlink()
    manifest_path = evidence / "manifest.json"
    manifest_path.write_text(
        manifest_path.read_text().replace('"rows_written": 1', '"rows_written": 2', 1)
    )
    problems = workspace.audit.verify(evidence).problems
    assert problems == (
        "manifest.json: does not match the hash in manifest.sha256",
        f"input {inputs[0]}: SHA-256 is {sha256_of(inputs[0])}, "
        f"the manifest records {recorded_input}",
        f"output {outputs[0]}: missing (recorded SHA-256 {recorded_output})",
    )


def test_a_swapped_bundle_is_detected(tmp_path: Path, workspace: Workspace) -> None:
    processed_workspace(tmp_path, workspace)
    evidence = tmp_path / "evidence"
    workspace.audit.export(evidence)
    bundle = evidence / "bundles" / "invoices-1.0.0.zip"
    bundle.write_bytes(bundle.read_bytes() + b"\0")
    assert workspace.audit.verify(evidence).problems == (
        "parser invoices 1.0.0: bundle bundles/invoices-1.0.0.zip does not match its SHA-256",
    )


def test_cli_audit_list_export_and_verify(tmp_path: Path, workspace: Workspace, home: Path) -> None:
    _, outputs = processed_workspace(tmp_path, workspace)
    runner = CliRunner()
    listed = runner.invoke(app, ["--home", str(home), "audit", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [e["action"] for e in json.loads(listed.stdout)] == ["parser.registered"]
    evidence = tmp_path / "evidence"
    exported = runner.invoke(app, ["--home", str(home), "audit", "export", str(evidence), "--json"])
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.stdout) == {
        "path": str(evidence), "parsers": 1, "inputs": 2, "jobs": 2, "outputs": 2, "audit": 1,
    }  # fmt: skip
    verified = runner.invoke(app, ["--home", str(home), "audit", "verify", str(evidence)])
    assert verified.exit_code == 0 and "verified: 6 hashes match" in verified.stdout
    outputs[0].write_bytes(b"not parquet any more")
    failed = runner.invoke(app, ["--home", str(home), "audit", "verify", str(evidence), "--json"])
    assert failed.exit_code == 1
    result = json.loads(failed.stdout)
    assert result["ok"] is False and result["problems"][0].startswith(
        f"output {outputs[0]}: SHA-256"
    )


def test_verify_of_a_folder_without_a_manifest(tmp_path: Path, workspace: Workspace) -> None:
    check = workspace.audit.verify(tmp_path)
    assert check.problems == (f"{tmp_path / 'manifest.json'}: no manifest here",)


@pytest.fixture
def registered_home(tmp_path: Path, home: Path) -> Path:
    """A home with one registered parser, through the real CLI."""
    runner = CliRunner()
    result = runner.invoke(
        app, ["--home", str(home), "parser", "register", str(make_parser(tmp_path / "p"))]
    )
    assert result.exit_code == 0, result.output
    return home


def test_cli_parser_list_show_export_json(tmp_path: Path, registered_home: Path) -> None:
    runner = CliRunner()
    base = ["--home", str(registered_home), "parser"]
    listed = json.loads(runner.invoke(app, [*base, "list", "--json"]).stdout)
    assert [(p["name"], p["version"]) for p in listed] == [("invoices", "1.0.0")]
    shown = json.loads(runner.invoke(app, [*base, "show", "invoices", "--json"]).stdout)
    assert shown["identity"] == listed[0]["identity"]
    out = runner.invoke(app, [*base, "export", "invoices", str(tmp_path), "--json"])
    assert json.loads(out.stdout)["path"] == str(tmp_path / "invoices-1.0.0.zip")
    missing = runner.invoke(app, [*base, "show", "nope"])
    assert missing.exit_code == 1 and "no parser 'nope' is registered" in missing.stderr
