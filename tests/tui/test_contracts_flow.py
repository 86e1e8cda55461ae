"""Pilot tests of Discover's c over a real workspace: a contract proposal for the selected files
as a table (column, type, nullable, format, confidence), approved only after its diff and a y,
audited as the OS user; a selection nothing can be discovered from says why."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from casparian_engine.store.audit import os_user
from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.screens.contract_proposal import ContractProposalScreen

from .conftest import (
    on_screen,
    review_opened_by,
    screen_opened_by,
    settle,
    table_rows,
    text_of,
)
from .test_discover import open_discover


async def proposal_opened_by(app: CasparianApp, pilot: Pilot[None]) -> ContractProposalScreen:
    """Press c (discover a contract for the selection) and return the proposal it shows."""
    return await screen_opened_by(app, pilot, ContractProposalScreen, "c")


async def test_c_proposes_a_contract_as_a_table_and_a_approves_it_after_the_diff(
    scanned: Workspace, data_dir: Path
) -> None:
    app = CasparianApp(scanned)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_discover(app, pilot)
        table = screen.query_one("#files", DataTable)
        for name in ("inv0.csv", "inv1.csv"):
            table.move_cursor(row=[Path(r.path).name for r in screen.page_rows].index(name))
            await pilot.press("space")
        proposal = await proposal_opened_by(app, pilot)
        stored = scanned.contracts.proposal("invoices")
        assert stored is not None and stored.status == "proposed"
        found = proposal.report.proposals[0].discovery
        confidence = {c.name: f"{c.confidence:.2f}" for c in found.column_confidences()}
        assert table_rows(proposal.query_one("#proposal-columns", DataTable)) == [
            ["id", "int64", "no", "", confidence["id"], ""],
            ["amount", "float64", "no", "", confidence["amount"], ""],
        ]
        heading = text_of(proposal.query_one("#proposal-heading", Static))
        assert heading.startswith("invoices · 2 files · ")
        assert f"(dialect confidence {found.dialect.confidence:.2f})" in heading
        assert on_screen(app, "#proposal-columns") and on_screen(app, "#review-hint")

        review = await review_opened_by(app, pilot, "A")
        assert review.title == "Approve 'invoices' as version 1?"
        assert review.body == [
            "--- (no approved version)",
            "+++ version 1 (proposed)",
            "@@ -0,0 +1,8 @@",
            "+name: invoices",
            "+columns:",
            "+- name: id",
            "+  type: int64",
            "+  nullable: false",
            "+- name: amount",
            "+  type: float64",
            "+  nullable: false",
        ]
        await pilot.press("n")  # no: nothing is approved
        await settle(app, pilot)
        assert app.screen is proposal
        assert scanned.contracts.latest("invoices") is None
        assert proposal.status_text == "'invoices' not approved"

        await review_opened_by(app, pilot, "A")
        await pilot.press("y")
        await settle(app, pilot)
        approved = scanned.contracts.latest("invoices")
        assert approved is not None
        assert (approved.version, approved.approved_by) == (1, os_user())
        assert approved.content_hash == stored.content_hash
        assert proposal.status_text == (
            f"✓ approved 'invoices' version 1 ({approved.content_hash[:12]}) by {os_user()}"
        )
        entry = scanned.audit.entries(action="contract.approve")[0]
        assert (entry.subject, entry.os_user) == ("invoices", os_user())

        await pilot.press("A")  # the same proposal again: nothing to approve
        await settle(app, pilot)
        assert app.screen is proposal
        assert proposal.status_text == (
            "'invoices' is already approved as version 1: nothing to approve"
        )
        await pilot.press("escape")
        assert app.screen is screen


async def test_a_changed_shape_is_approved_as_the_next_version_with_its_diff(
    scanned: Workspace, data_dir: Path
) -> None:
    app = CasparianApp(scanned)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_discover(app, pilot)
        await pilot.press("c")  # nothing selected: the highlighted file (inv0.csv)
        await settle(app, pilot)
        await review_opened_by(app, pilot, "A")
        await pilot.press("y")
        await settle(app, pilot)
        await pilot.press("escape")
        (data_dir / "invoices" / "inv0.csv").write_text("id,amount,currency\n1,1.5,EUR\n")
        proposal = await proposal_opened_by(app, pilot)
        columns = table_rows(proposal.query_one("#proposal-columns", DataTable))
        assert [row[0] for row in columns] == ["id", "amount", "currency"]
        review = await review_opened_by(app, pilot, "A")
        assert review.title == "Approve 'invoices' as version 2?"
        assert review.body[:2] == ["--- version 1", "+++ version 2 (proposed)"]
        assert review.body[-3:] == ["+- name: currency", "+  type: string", "+  nullable: false"]
        await pilot.press("y")
        await settle(app, pilot)
        assert [c.version for c in scanned.contracts.versions("invoices")] == [1, 2]
        assert screen.error_text == ""


async def test_files_nothing_can_be_discovered_from_say_why_and_propose_nothing(
    workspace: Workspace, tmp_path: Path
) -> None:
    data = tmp_path / "odd"
    data.mkdir()
    (data / "empty.csv").write_text("")
    (data / "zeros.bin").write_bytes(b"\x00" * 512)
    workspace.files.scan(data)
    app = CasparianApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_discover(app, pilot)
        for _ in range(2):
            await pilot.press("space", "down")
        await pilot.press("c")
        await settle(app, pilot)
        assert app.screen is screen
        assert screen.error_text == (
            f"✗ no contract discovered from 2 files: {data / 'empty.csv'}: the file is empty; "
            f"{data / 'zeros.bin'}: looks binary, not delimited text"
        )
        assert workspace.contracts.list() == []
        assert workspace.audit.entries(action="contract.propose") == []


async def test_files_of_two_shapes_get_a_proposal_each_and_bracket_keys_step_through(
    workspace: Workspace, tmp_path: Path
) -> None:
    data = tmp_path / "mixed"
    (data / "invoices").mkdir(parents=True)
    (data / "sensors").mkdir()
    (data / "invoices" / "inv.csv").write_text("id,amount\n1,1.5\n2,2.5\n")
    (data / "sensors" / "s.csv").write_text(
        "sensor;reading;at\nA;0.5;2024-01-02\nB;0.7;2024-01-03\n"
    )
    workspace.files.scan(data)
    app = CasparianApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_discover(app, pilot)
        await pilot.press("space", "down", "space", "c")
        await settle(app, pilot)
        proposal = app.screen
        assert isinstance(proposal, ContractProposalScreen)
        names = [p.stored.name for p in proposal.report.proposals]
        assert sorted(names) == ["invoices", "sensors"]
        columns = proposal.query_one("#proposal-columns", DataTable)
        heading = text_of(proposal.query_one("#proposal-heading", Static))
        assert heading.startswith(f"{names[0]} · 1 file · ")
        assert heading.endswith(" · proposal 1 of 2")
        first = [row[0] for row in table_rows(columns)]
        await pilot.press("right_square_bracket")
        heading = text_of(proposal.query_one("#proposal-heading", Static))
        assert heading.startswith(f"{names[1]} · 1 file · ")
        assert heading.endswith(" · proposal 2 of 2")
        second = [row[0] for row in table_rows(columns)]
        assert sorted([first, second]) == [["id", "amount"], ["sensor", "reading", "at"]]
        await pilot.press("A")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert [c.name for c in workspace.contracts.list() if c.status == "approved"] == [names[1]]
