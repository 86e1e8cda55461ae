"""A dev run of a registered parser on sample files with ``casparian run``'s options (the TUI's
d dialog): what-if writes nothing and says where rows would go, a sink receives the rows and an
existing output there is refused without force, and the host's network is given only when
asked, with an audit entry. Real guests, real sinks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from casparian_engine.lab.trial import SampleRunOptions, try_registered
from casparian_engine.store.audit import os_user
from casparian_engine.workspace import Workspace
from tests.engine.registration_support import make_parser


def setup(workspace: Workspace, tmp_path: Path) -> Path:
    workspace.parsers.register(make_parser(tmp_path / "parser"))
    sample = tmp_path / "inv.csv"
    sample.write_text("id,amount\n1,2.5\n2,x\n")
    return sample


def test_whatif_writes_nothing_and_names_the_targets(workspace: Workspace, tmp_path: Path) -> None:
    sample = setup(workspace, tmp_path)
    result = try_registered(workspace, "invoices", [sample], options=SampleRunOptions(whatif=True))
    scratch = workspace.home / "dev-output" / "samples" / "invoices"
    assert result.whatif and (result.written, result.quarantined, result.failure) == (1, 1, None)
    assert result.targets == (
        ("invoices", str(scratch / "invoices")),
        ("invoices__quarantine", str(scratch / "invoices__quarantine")),
    )
    assert result.outputs[0].columns == (("id", "int64"), ("amount", "string"))
    assert [p for p in scratch.rglob("*") if p.is_file()] == []
    assert workspace.audit.entries(action="guest.network_allowed") == []


def test_a_sink_gets_the_rows_and_an_existing_output_needs_force(
    workspace: Workspace, tmp_path: Path
) -> None:
    sample = setup(workspace, tmp_path)
    database = tmp_path / "rows.sqlite"
    sink = f"sqlite://{database}"
    first = try_registered(workspace, "invoices", [sample], options=SampleRunOptions(sink=sink))
    assert (first.sink, first.written, first.failure) == (sink, 1, None)
    with sqlite3.connect(database) as con:
        assert con.execute("SELECT id, amount FROM invoices").fetchall() == [(1, 2.5)]
    again = try_registered(workspace, "invoices", [sample], options=SampleRunOptions(sink=sink))
    assert again.failure == (
        f"OutputExistsError: output already exists: invoices ({database}#invoices); use --force "
        "to replace it"
    )
    assert again.existing_outputs == ("invoices",)
    forced = SampleRunOptions(sink=sink, force=True)
    assert try_registered(workspace, "invoices", [sample], options=forced).failure is None
    with sqlite3.connect(database) as con:
        assert con.execute("SELECT count(*) FROM invoices").fetchone() == (1,)


def test_the_network_is_given_only_when_asked_and_audited(
    workspace: Workspace, tmp_path: Path
) -> None:
    sample = setup(workspace, tmp_path)
    result = try_registered(
        workspace, "invoices", [sample], options=SampleRunOptions(allow_network=True)
    )
    assert result.network and result.failure is None
    (entry,) = workspace.audit.entries(action="guest.network_allowed")
    parser_file = (tmp_path / "parser" / "invoice_parser.py").resolve()
    assert (entry.subject, entry.os_user, entry.details) == (
        str(parser_file),
        os_user(),
        {"mode": "dev"},
    )
