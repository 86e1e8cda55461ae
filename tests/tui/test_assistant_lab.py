"""Pilot tests of the assistant in each mode without a model, and of the Parser Lab flow:
Discover's hint and its acceptance, explain-this-failure on a real failed job, Inspect's
anomalies on a table with planted anomalies, and draft → try → approve → register."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.assistant import FactsBlock
from casparian_tui.screens.dialogs import DetailsDialog
from casparian_tui.screens.discover import DiscoverScreen
from casparian_tui.screens.inspect import InspectScreen
from casparian_tui.screens.jobs import JobsScreen
from casparian_tui.screens.lab import LabScreen
from tests.engine.assistant_support import failed_job, planted_table

from .conftest import settle

SIZE = (120, 36)


@pytest.fixture
def no_model(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No model configured (requested before the workspace, which reads the setting)."""
    monkeypatch.setenv("CASPARIAN_AI_PROVIDER", "none")


def sidebar_text(app: CasparianApp) -> str:
    return "\n".join(
        str(block.query_one(Static).render()) for block in app.screen.query(FactsBlock)
    )


async def test_hint_describes_the_selection_and_a_tags_the_files(
    no_model: None, scanned: Workspace, data_dir: Path
) -> None:
    app = CasparianApp(scanned)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+d")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, DiscoverScreen)
        assert [Path(r.path).name for r in screen.page_rows][:2] == ["inv0.csv", "inv1.csv"]
        await pilot.press("space", "down", "space")
        await settle(app, pilot)
        line = str(screen.query_one("#suggestion").render())
        assert line == (
            "💡 These look like invoices files (comma CSV, 2 columns). Tag as 'invoices'?"
            "  (a to accept)"
        )
        await pilot.press("a")
        await settle(app, pilot)
        tagged = sorted(Path(r.path).name for r in scanned.files.list(tag="invoices"))
        assert tagged == ["inv0.csv", "inv1.csv"]
        (entry,) = scanned.audit.entries(action="files.tagged", limit=5)
        assert (entry.subject, entry.details["file_count"]) == ("invoices", 2)
        assert entry.os_user == getpass.getuser()


async def test_explain_a_real_failed_job_in_jobs_and_process(
    no_model: None, workspace: Workspace, tmp_path: Path
) -> None:
    job_id = failed_job(workspace, tmp_path)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+j")
        await settle(app, pilot)
        assert isinstance(app.screen, JobsScreen)
        await pilot.press("w")
        await settle(app, pilot)
        assert app.show_ai_sidebar
        text = sidebar_text(app)
        assert f"Why job {job_id} failed (engine facts; no model explained them)" in text
        assert f"Job {job_id} failed: KeyError" in text
        assert "Likely cause: the parser looks up a column or key" in text
        assert '>   16 |         return pa.table(columns["amount_eur"])' in text
        assert "  id,amount" in text
        await pilot.press("alt+p")
        await settle(app, pilot)
        await pilot.press("w")
        await settle(app, pilot)
        assert f"Why job {job_id} failed" in sidebar_text(app)


async def test_anomalies_each_found_with_its_count(no_model: None, workspace: Workspace) -> None:
    planted = planted_table(workspace.config.output_dir / "orders" / "orders" / "part-0.parquet")
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+i")
        await settle(app, pilot)
        assert isinstance(app.screen, InspectScreen) and app.screen.table_name == "orders"
        await pilot.press("a")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, DetailsDialog)
        found = {
            label.split(". ", 1)[1].split(" · ")[0]: value for label, value in dialog.facts.items()
        }
        assert set(found) == set(planted)
        for kind, count in planted.items():
            assert str(found[kind]).startswith(f"{count:,} row"), (kind, found[kind])
        await pilot.press("escape")
        assert "Anomalies in orders" in sidebar_text(app)


async def test_lab_draft_try_approve_register_audited_as_the_person(
    no_model: None, scanned: Workspace, data_dir: Path, tmp_path: Path
) -> None:
    app = CasparianApp(scanned)
    folder = tmp_path / "my-parsers" / "invoices"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+d")
        await settle(app, pilot)
        await pilot.press("space", "down", "space", "down", "space")
        await settle(app, pilot)
        await pilot.press("l")
        await settle(app, pilot)
        lab = app.screen
        assert isinstance(lab, LabScreen)
        assert lab.parser_name == "invoices" and len(lab.samples) == 3
        lab.query_one("#lab-folder", Input).value = str(folder)
        await pilot.press("A")  # nothing to approve before a clean try
        await settle(app, pilot)
        assert "approve after a try that ran clean" in str(lab.query_one("#lab-status").render())
        await pilot.press("d")
        await settle(app, pilot)
        files = str(lab.query_one("#lab-files").render())
        assert "parser.py" in files and "inferred" in files
        assert (folder / "uv.lock").is_file()
        await pilot.press("t")
        await settle(app, pilot)
        assert lab.result is not None and lab.result.ok
        assert (lab.result.written, lab.result.quarantined) == (3, 0)
        assert "invoices: 3 rows written, 0 quarantined" in str(lab.query_one("#lab-try").render())
        assert scanned.contracts.list() == [] or all(
            c.status != "approved" for c in scanned.contracts.list()
        )  # trying approved nothing
        await pilot.press("A")
        await settle(app, pilot)
        await pilot.press("R")
        await settle(app, pilot)
        assert "registered invoices 0.1.0" in str(lab.query_one("#lab-status").render())
        (approval,) = scanned.audit.entries(action="contract.approve")
        assert approval.subject == "invoices"
        assert approval.details["approved_by"] == getpass.getuser()
        assert scanned.parsers.get("invoices") is not None
        # A second draft into the same folder asks before replacing; "n" keeps the files.
        (folder / "parser.py").write_text((folder / "parser.py").read_text() + "# mine\n")
        await pilot.press("d")
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        assert (folder / "parser.py").read_text().endswith("# mine\n")


async def test_lab_model_draft_without_a_model_says_so(
    no_model: None, home: Path, data_dir: Path
) -> None:
    with Workspace.open(home) as workspace:
        workspace.files.scan(data_dir)
        app = CasparianApp(workspace)
        async with app.run_test(size=SIZE) as pilot:
            lab = LabScreen([data_dir / "invoices" / "inv0.csv"], "invoices")
            app.push_screen(lab)
            await settle(app, pilot)
            await pilot.press("m")
            await settle(app, pilot)
            status = str(lab.query_one("#lab-status").render())
            assert status.startswith("✗ draft: no model for the draft: No AI model is available")
            assert not any((Path.home() / "casparian-parsers").glob("invoices/parser.py"))


async def test_lab_opens_on_the_filter_tag_with_nothing_selected(
    no_model: None, scanned: Workspace, data_dir: Path, tmp_path: Path
) -> None:
    invoices = sorted(str(p) for p in (data_dir / "invoices").glob("inv[0-3].csv"))
    scanned.files.tag(invoices, "billing")
    app = CasparianApp(scanned)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+d")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, DiscoverScreen)
        await pilot.press("slash", *"tag:nothing-here", "enter")
        await settle(app, pilot)
        await pilot.press("l")  # a tag no file carries: a warning, no lab
        await settle(app, pilot)
        assert app.screen is screen
        await pilot.press("slash")
        screen.query_one("#filter", Input).value = "tag:billing"
        await pilot.press("enter")
        await settle(app, pilot)
        assert not screen.selected_ids and len(screen.page_rows) == 4
        await pilot.press("l")
        await settle(app, pilot)
        lab = app.screen
        assert isinstance(lab, LabScreen)
        assert (lab.tag, lab.parser_name) == ("billing", "billing")
        assert sorted(str(p) for p in lab.samples) == invoices
        assert "Parser Lab · 4 sample files · tag billing" in str(
            lab.query_one("#lab-title").render()
        )
        lab.query_one("#lab-folder", Input).value = str(tmp_path / "billing")
        await pilot.press("d")
        await settle(app, pilot)
        await pilot.press("t")
        await settle(app, pilot)
        assert lab.result is not None and (lab.result.written, lab.result.quarantined) == (4, 0)
