"""Pilot tests of Process's backfill (b) with the CLI's --limit and --force, over real guests:
the confirmed run redoes exactly the files the dialog listed, and a plan that changed between
the dialog and the yes is shown again (with what changed) instead of being run."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.screens.workflow_options import BackfillOptionsDialog
from tests.engine.registration_support import make_parser

from .conftest import review_opened_by, settle
from .test_process import open_process


def backfilled_paths(workspace: Workspace) -> set[str]:
    return {j.input_path for j in workspace.jobs.list(limit=100) if j.kind == "backfill"}


async def test_a_limit_redoes_at_most_n_files_and_a_changed_plan_is_shown_again(
    registered: Workspace, tmp_path: Path
) -> None:
    registered.jobs.process("invoices")
    registered.parsers.register(make_parser(tmp_path / "parser2", version="2.0.0"))
    app = CasparianApp(registered)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_process(app, pilot)
        review = await review_opened_by(app, pilot, "b", *"2", "enter")
        assert review.title == "Backfill invoices 2.0.0: redo 2 files?"
        assert review.body[1] == (
            "planned: files from an older version, at most 2 (--limit); y runs exactly these files."
        )
        shown = [line.split("  (")[0] for line in review.body[3:]]
        assert len(shown) == 2
        # Between the dialog and the yes, one listed file gets new content (no version made it).
        Path(shown[0]).write_text("id,amount\n77,7.5\n")
        registered.files.scan(tmp_path / "batch")
        again = await review_opened_by(app, pilot, "y")
        assert again.dialog is not review.dialog
        assert "invoices" not in app.service.runs  # nothing ran
        assert again.title == "The plan changed: backfill invoices 2.0.0, redo 2 files?"
        assert again.body[:4] == [
            "The plan changed since you saw it; nothing has run. Now:",
            "  · 1 file to redo that the plan did not list",
            "  · 1 listed file no longer to redo (processed since, changed or gone)",
            "",
        ]
        now_shown = {line.split("  (")[0] for line in again.body[7:]}
        assert shown[0] not in now_shown and len(now_shown) == 2
        await pilot.press("y")
        await settle(app, pilot)
        state = app.service.runs["invoices"]
        assert not state.running
        output_dir = registered.config.output_dir / "invoices"
        assert state.outcome == (
            f"backfilled: 2 files redone by version 2.0.0; {output_dir} holds its outputs"
        )
        assert backfilled_paths(registered) == now_shown  # exactly the files shown


async def test_force_redoes_files_the_current_version_already_processed(
    registered: Workspace,
) -> None:
    registered.jobs.process("invoices")
    app = CasparianApp(registered)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_process(app, pilot)
        review = await review_opened_by(app, pilot, "b", "tab", "space", "enter")  # tick force
        assert review.title == "Backfill invoices 1.0.0: redo 4 files?"
        assert review.body[1] == (
            "planned: every matched file (--force); y runs exactly these files."
        )
        await pilot.press("y")
        await settle(app, pilot)
        assert app.service.runs["invoices"].outcome.startswith("backfilled: 4 files redone")
        assert len(backfilled_paths(registered)) == 4


async def test_a_limit_that_is_not_a_count_is_said_and_the_text_kept(registered: Workspace) -> None:
    app = CasparianApp(registered)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_process(app, pilot)
        await pilot.press("b", *"ten", "enter")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, BackfillOptionsDialog)
        assert dialog.problem_text == (
            "✗ limit: 'ten' is not a number of files from 1 to 1,000,000 (blank: every file)"
        )
        assert dialog.query_one(Input).value == "ten"
        await pilot.press("escape")
        assert app.screen is screen
        assert backfilled_paths(registered) == set()


async def test_a_plan_that_changes_after_the_yes_runs_nothing_and_says_so(
    registered: Workspace, tmp_path: Path
) -> None:
    registered.jobs.process("invoices")
    registered.parsers.register(make_parser(tmp_path / "parser2", version="2.0.0"))
    seen = registered.outputs.backfill_plan("invoices")
    registered.parsers.register(make_parser(tmp_path / "parser3", version="3.0.0"))
    app = CasparianApp(registered)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_process(app, pilot)
        assert app.service.start_backfill("invoices", seen)
        await settle(app, pilot)
        state = app.service.runs["invoices"]
        assert state.outcome == (
            "failed: the backfill plan of invoices changed since it was shown: the current "
            "version of invoices is now 3.0.0 (was 2.0.0); nothing was run: b shows the new plan"
        )
        assert backfilled_paths(registered) == set()
        assert registered.audit.entries(action="parser.backfill") == []
