"""What needs a person (Workspace.needs_attention): figures read from a real store."""

from __future__ import annotations

from pathlib import Path

from casparian_engine.attention import Attention
from casparian_engine.workspace import Workspace
from tests.engine.registration_support import make_parser


def test_an_empty_home_needs_nothing(workspace: Workspace) -> None:
    attention = workspace.needs_attention()
    assert attention == Attention() and attention.nothing


def test_matched_files_count_until_processed_and_failed_ones_go_to_failed_jobs(
    workspace: Workspace, tmp_path: Path
) -> None:
    from casparian_engine.contracts import SchemaContract

    parser = make_parser(tmp_path / "parser")
    workspace.parsers.register(parser)
    contract = (parser / "invoices.contract.yaml").read_text()
    workspace.contracts.approve(SchemaContract.from_yaml(contract, "invoices.contract.yaml"))
    invoices = tmp_path / "data" / "invoices"
    invoices.mkdir(parents=True)
    (invoices / "good.csv").write_text("id,amount\n1,2.5\n")
    (invoices / "bad.csv").write_text("id,amount\n1,x\n")  # one row quarantined
    (invoices / "broken.csv").write_text("id,other\n1,2\n")  # no amount column: the job fails
    (tmp_path / "data" / "notes.txt").write_text("not an invoice\n")  # matched by no parser
    workspace.files.scan(tmp_path / "data")
    assert workspace.needs_attention().unprocessed_by_parser == {"invoices": 3}
    workspace.jobs.enqueue("invoices")
    workspace.jobs.process("invoices", queue_matching=False)
    attention = workspace.needs_attention()
    assert attention == Attention(failed_jobs=1, quarantined_rows=1)
    assert attention.unprocessed_files == 0 and not attention.nothing
    health = workspace.store.health
    for _ in range(health.threshold):
        health.record_failure("invoices", "ParseError: bad header")
    assert workspace.needs_attention().paused_parsers == ("invoices",)
