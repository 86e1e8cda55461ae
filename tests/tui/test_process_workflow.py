"""Pilot tests of Process's workflow keys over a real workspace: n registers a parser from a
folder (with path completion), c shows its version and contracts, d dev-runs it on picked
sample files (real guests), b backfills after a new version, only after a confirmation."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from casparian_engine.store.audit import os_user
from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.screens.dialogs import PromptDialog
from casparian_tui.screens.parser_dialogs import DevRunDialog, ParserDetailsDialog
from casparian_tui.screens.process import ProcessScreen
from casparian_tui.screens.workflow_options import BackfillOptionsDialog
from tests.engine.registration_support import make_parser

from .conftest import (
    on_screen,
    review_opened_by,
    screen_opened_by,
    settle,
    table_rows,
    text_of,
)
from .test_process import cells, open_process

SIZES = ((120, 36), (80, 24))


async def type_into_prompt(pilot: Pilot[None], text: str) -> None:
    await pilot.press(*text)
    await pilot.pause()


async def details_opened_by_c(app: CasparianApp, pilot: Pilot[None]) -> ParserDetailsDialog:
    """Press c (the parser's version and contracts) and return the dialog it shows."""
    return await screen_opened_by(app, pilot, ParserDetailsDialog, "c")


async def test_n_registers_a_parser_from_a_folder_typed_with_completion(
    workspace: Workspace, tmp_path: Path
) -> None:
    parser = make_parser(tmp_path / "parsers" / "invoice_parser")
    app = CasparianApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_process(app, pilot)
        assert cells(screen, "#parsers-table") == []
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        assert on_screen(app, "#prompt") and on_screen(app, "#prompt-hint")
        await type_into_prompt(pilot, str(tmp_path / "parsers" / "inv"))
        await app.screen.query_one(Input).workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("tab")
        assert app.screen.query_one(Input).value == f"{parser}/"
        review = await review_opened_by(app, pilot, "enter")
        assert workspace.parsers.list() == []  # nothing is stored before a yes
        assert review.title == "Register invoices 1.0.0 (new parser)?"
        assert review.body[0].startswith(f"A hashed, immutable bundle of 4 files from {parser}/ ")
        assert review.body[1:] == [
            "  invoice_parser.py",
            "  invoices.contract.yaml",
            "  pyproject.toml",
            "  uv.lock",
            "selects files tagged invoices; patterns invoices/**/*.csv",
        ]
        assert on_screen(app, "#review-title") and on_screen(app, "#review-hint")
        await pilot.press("y")
        await settle(app, pilot)
        assert app.screen is screen
        assert [(p.name, p.version) for p in workspace.parsers.list()] == [("invoices", "1.0.0")]
        assert cells(screen, "#parsers-table")[0][0] == "invoices"
        identity = workspace.parsers.list()[0].identity_hash
        toasts = [n.message for n in app._notifications]
        assert toasts == [f"registered parser 'invoices' 1.0.0 (identity {identity})"]
        status = text_of(screen.query_one("#process-status", Static))
        assert status == "invoices: never run"  # the cursor is on the new parser
        assert screen.error_text == ""
        entry = workspace.audit.entries(action="parser.registered")[0]
        assert (entry.subject, entry.os_user) == ("invoices@1.0.0", os_user())


async def test_a_registration_is_asked_about_and_same_or_conflicting_content_is_said(
    workspace: Workspace, tmp_path: Path
) -> None:
    parser = make_parser(tmp_path / "parser")
    app = CasparianApp(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_process(app, pilot)

        async def register(folder: Path) -> None:
            await pilot.press("n")
            await type_into_prompt(pilot, str(folder))
            await pilot.press("enter")
            await settle(app, pilot)

        await register(parser)
        await pilot.press("n")  # no: nothing stored, nothing audited
        await settle(app, pilot)
        assert workspace.parsers.list() == []
        assert workspace.audit.entries(action="parser.registered") == []
        assert [n.message for n in app._notifications] == ["invoices 1.0.0 not registered"]
        await register(parser)
        await pilot.press("y")
        await settle(app, pilot)
        assert [p.version for p in workspace.parsers.list()] == ["1.0.0"]
        app._notifications.clear()
        await register(parser)  # the same content again: nothing to ask
        assert app.screen is screen
        assert [n.message for n in app._notifications] == [
            "invoices 1.0.0 is already registered with the same content: nothing to do"
        ]
        (parser / "invoice_parser.py").write_text(
            (parser / "invoice_parser.py").read_text() + "# changed\n"
        )
        await register(parser)  # other content under the same version: refused, said why
        assert app.screen is screen
        assert screen.error_text == (
            f"✗ register {parser}: parser 'invoices' 1.0.0 is already registered with other "
            "content: raise `version` in invoice_parser.py"
        )
        assert len(workspace.parsers.list()) == 1


async def test_a_folder_with_no_parser_is_refused_with_its_name_and_nothing_registered(
    workspace: Workspace, tmp_path: Path
) -> None:
    folder = make_parser(tmp_path / "not_a_parser")
    for source in folder.glob("*.py"):
        source.unlink()
    app = CasparianApp(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_process(app, pilot)
        await pilot.press("n")
        await type_into_prompt(pilot, str(folder))
        await pilot.press("enter")
        await settle(app, pilot)
        assert screen.error_text == (
            f"✗ register {folder}: no parser class found: registration needs a Level-2 parser, "
            "`class MyParser(Parser)` with name, version and outputs"
        )
        await pilot.press("n")
        await type_into_prompt(pilot, str(tmp_path / "nowhere"))
        await pilot.press("enter")
        await settle(app, pilot)
        assert screen.error_text == (
            f"✗ register {tmp_path / 'nowhere'}: {tmp_path / 'nowhere'}: no such file or folder"
        )
        assert workspace.parsers.list() == []
        assert workspace.audit.entries(action="parser.registered") == []


async def test_c_shows_the_version_and_the_contract_a_prod_run_applies(
    registered: Workspace,
) -> None:
    app = CasparianApp(registered)
    record = registered.parsers.list()[0]
    for size in SIZES:
        async with app.run_test(size=size) as pilot:
            await open_process(app, pilot)
            dialog = await details_opened_by_c(app, pilot)
            facts = text_of(dialog.query_one("#parser-facts", Static))
            assert f"version     {record.version}" in facts
            assert f"identity    {record.identity_hash}" in facts
            approved = registered.contracts.latest("invoices")
            assert approved is not None
            assert text_of(dialog.query_one("#contract-states", Static)) == (
                f"✓ output invoices: contract 'invoices' is approved version 1 "
                f"({approved.content_hash[:12]}) by {os_user()}"
            )
            assert table_rows(dialog.query_one("#contract-columns", DataTable)) == [
                ["invoices", "id", "int64", "no", ""],
                ["invoices", "amount", "float64", "yes", ""],
            ]
            assert on_screen(app, "#parser-details") and on_screen(app, "#review-hint")
            await pilot.press("escape")
            assert isinstance(app.screen, ProcessScreen)
        app = CasparianApp(registered)


async def test_c_says_a_contract_is_not_approved_and_a_approves_it_after_its_diff(
    workspace: Workspace, tmp_path: Path
) -> None:
    workspace.parsers.register(make_parser(tmp_path / "parser"))
    app = CasparianApp(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_process(app, pilot)
        dialog = await details_opened_by_c(app, pilot)
        assert text_of(dialog.query_one("#contract-states", Static)) == (
            "output invoices: contract 'invoices' has no approved version: a prod run refuses it "
            "until it is approved (A)"
        )
        review = await review_opened_by(app, pilot, "A")
        assert review.title == "Approve 'invoices' as version 1?"
        assert review.body[:2] == [
            "--- (no approved version)",
            "+++ version 1 (proposed)",
        ]
        await pilot.press("n")
        await settle(app, pilot)
        assert workspace.contracts.latest("invoices") is None
        assert dialog.status_text == "'invoices' not approved"
        await review_opened_by(app, pilot, "A")
        await pilot.press("y")
        await settle(app, pilot)
        approved = workspace.contracts.latest("invoices")
        assert approved is not None and approved.approved_by == os_user()
        assert text_of(dialog.query_one("#contract-states", Static)) == (
            f"✓ output invoices: contract 'invoices' is approved version 1 "
            f"({approved.content_hash[:12]}) by {os_user()}"
        )
        entry = workspace.audit.entries(action="contract.approve")[0]
        assert (entry.subject, entry.os_user) == ("invoices", os_user())
        await pilot.press("A")
        assert dialog.status_text == (
            "every contract of this parser is its approved version: nothing to approve"
        )


async def test_d_dev_runs_the_picked_samples_and_shows_rows_quarantine_and_first_errors(
    registered: Workspace,
) -> None:
    app = CasparianApp(registered)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_process(app, pilot)
        names = [Path(p).name for p in screen.file_paths]
        await pilot.press("space")  # not in the files pane: says how to get there
        assert screen.error_text == "✗ Tab to the matched files first; space there picks samples"
        await pilot.press("tab")
        assert screen.focused is screen.query_one("#parser-files")
        for name in ("inv0.csv", "inv1.csv"):  # inv0.csv's row 2 breaks the contract
            screen.query_one("#parser-files", DataTable).move_cursor(row=names.index(name))
            await pilot.press("space")
        assert len(screen.sample_paths) == 2
        assert screen.error_text == ""
        await pilot.press("d", "enter")  # the options as the CLI defaults them
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, DevRunDialog)
        body = text_of(dialog.query_one("#dev-run-body", Static)).splitlines()
        assert body[0].startswith(
            f"invoices (source folder {registered.parsers.list()[0].source_path}) on 2 files"
        )
        inv1 = next(p for p in screen.sample_paths if p.endswith("inv1.csv"))
        assert body[1:] == [  # inv0.csv's amounts read as text, inv1.csv's as numbers
            "1 row written, 1 row quarantined",
            f"✗ file failed: SchemaChanged: {inv1}: output 'invoices' changed schema between "
            "batches: column 'amount' was string, now double",
            "· invoices: 1 row written, 1 quarantined",
            "    row 2: amount: not a valid float64",
        ]
        assert on_screen(app, "#dev-run") and on_screen(app, "#review-hint")
        await pilot.press("escape")
        assert text_of(screen.query_one("#process-status", Static)) == (
            "invoices: never run · dev run: 2 files, 1 row written, 1 quarantined, 1 failure"
        )
        assert registered.jobs.counts().by_status == {}  # a dev run queues nothing
        assert registered.outputs.tables() == []  # and writes no production output


async def test_b_lists_the_files_a_backfill_would_redo_and_runs_it_only_on_yes(
    registered: Workspace, tmp_path: Path
) -> None:
    registered.jobs.process("invoices")
    app = CasparianApp(registered)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_process(app, pilot)
        await pilot.press("b")
        await settle(app, pilot)
        assert isinstance(app.screen, BackfillOptionsDialog)
        await pilot.press("enter")  # no limit, no force: the CLI's defaults
        await settle(app, pilot)
        assert [n.message for n in app._notifications] == [
            "Nothing to backfill: no file's outputs come from a version of invoices older "
            "than 1.0.0"
        ]
    registered.parsers.register(make_parser(tmp_path / "parser2", version="2.0.0"))
    jobs_before = registered.jobs.counts().by_status
    app = CasparianApp(registered)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_process(app, pilot)
        review = await review_opened_by(app, pilot, "b", "enter")
        assert review.title == "Backfill invoices 2.0.0: redo 4 files?"
        body = review.body
        output_dir = registered.config.output_dir / "invoices"
        assert body[0] == (
            "4 files would be reprocessed by invoices 2.0.0 into a staging folder; the outputs "
            f"in {output_dir} are replaced only if every file succeeds (otherwise they stay as "
            "they are)."
        )
        assert body[1] == "planned: files from an older version; y runs exactly these files."
        batch = tmp_path / "batch" / "invoices"
        assert sorted(body[3:]) == [f"{batch}/inv{n}.csv  (now from 1.0.0)" for n in range(4)]
        assert on_screen(app, "#review-hint")
        await pilot.press("n")
        await settle(app, pilot)
        assert app.screen is screen
        assert registered.jobs.counts().by_status == jobs_before  # no means nothing ran
        assert [n.message for n in app._notifications] == ["Backfill of invoices not started"]
        assert "invoices" not in app.service.runs
        await review_opened_by(app, pilot, "b", "enter")
        await pilot.press("y")
        await settle(app, pilot)
        state = app.service.runs["invoices"]
        assert not state.running
        assert state.outcome == (
            f"backfilled: 4 files redone by version 2.0.0; {output_dir} holds its outputs"
        )
        entry = registered.audit.entries(action="parser.backfill")[0]
        assert (entry.subject, entry.os_user) == ("invoices", os_user())
        assert registered.outputs.backfill_plan("invoices").files == ()


async def test_s_stops_a_dev_run_whose_parser_never_ends(
    workspace: Workspace, tmp_path: Path
) -> None:
    never_ends = "import time\nwhile True:\n    time.sleep(0.05)"
    workspace.parsers.register(make_parser(tmp_path / "parser", body=never_ends))
    batch = tmp_path / "batch" / "invoices"
    batch.mkdir(parents=True)
    (batch / "inv0.csv").write_text("id,amount\n1,2.5\n")
    workspace.files.scan(tmp_path / "batch")
    app = CasparianApp(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_process(app, pilot)
        await pilot.press("d", "enter")
        assert screen.dev_run_cancel is not None
        await pilot.press("d")  # one dev run at a time
        assert screen.error_text == "✗ A dev run is under way: s stops it"
        await pilot.press("s")  # the parser loops for ever: only the stop ends this run
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, DevRunDialog)
        body = text_of(dialog.query_one("#dev-run-body", Static)).splitlines()
        assert body[1:] == [
            "0 rows written, 0 rows quarantined",
            "■ stopped: the guest was stopped and nothing it parsed was kept",
        ]
        assert screen.dev_run_cancel is None and app.service.other_work == set()
        await pilot.press("escape")
        assert text_of(screen.query_one("#process-status", Static)).endswith(
            "dev run: 1 file, 0 rows written, 0 quarantined, stopped"
        )


async def test_a_backfill_with_a_failing_file_is_not_swapped_and_the_outputs_stay(
    registered: Workspace, tmp_path: Path
) -> None:
    registered.jobs.process("invoices")
    output_dir = registered.config.output_dir / "invoices"
    before = sorted(p.relative_to(output_dir) for p in output_dir.rglob("*.parquet"))
    fails_on_inv2 = 'if path.endswith("inv2.csv"):\n    raise ValueError("inv2 is broken")'
    registered.parsers.register(
        make_parser(tmp_path / "parser2", version="2.0.0", body=fails_on_inv2)
    )
    app = CasparianApp(registered)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_process(app, pilot)
        await review_opened_by(app, pilot, "b", "enter")
        await pilot.press("y")
        await settle(app, pilot)
        state = app.service.runs["invoices"]
        assert not state.running
        assert state.outcome == (
            "backfill not swapped: 1 of 4 files did not succeed; the outputs are as they were"
        )
        after = sorted(p.relative_to(output_dir) for p in output_dir.rglob("*.parquet"))
        assert after == before
        assert registered.audit.entries(action="parser.backfill") == []
        assert len(registered.outputs.backfill_plan("invoices").files) == 4  # still to redo


async def test_c_shows_a_contract_file_that_differs_and_a_approves_it_as_the_next_version(
    registered: Workspace, tmp_path: Path
) -> None:
    from casparian_engine.contracts import SchemaContract

    first = registered.contracts.latest("invoices")
    assert first is not None
    text = first.contract.to_yaml().replace("float64", "string")
    registered.contracts.approve(SchemaContract.from_yaml(text))  # version 2: amount as text
    app = CasparianApp(registered)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_process(app, pilot)
        dialog = await details_opened_by_c(app, pilot)
        states = text_of(dialog.query_one("#contract-states", Static)).splitlines()
        assert states[0].startswith(
            "✗ output invoices: contract 'invoices': the parser's file differs from approved "
            "version 2 ("
        )
        assert "-  type: string" in states and "+  type: float64" in states
        review = await review_opened_by(app, pilot, "A")
        assert review.title == "Approve 'invoices' as version 3?"
        await pilot.press("y")
        await settle(app, pilot)
        latest = registered.contracts.latest("invoices")
        assert latest is not None and latest.version == 3
        assert latest.content_hash == first.content_hash  # the parser's file, approved anew
        assert text_of(dialog.query_one("#contract-states", Static)).startswith(
            "✓ output invoices: contract 'invoices' is approved version 3"
        )
