"""The assistant in each mode with the real local model (llama.cpp, the shipped SmolLM2, greedy):
explain-this-failure and Inspect's anomalies stream the model's answer into the sidebar under the
engine's facts, and the lab's model draft streams into the lab's sidebar, Esc stopping it."""

from __future__ import annotations

from pathlib import Path

from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Input, Static

from casparian_engine.lab import ORIGIN_INFERRED, PARSER_FILE
from casparian_engine.workspace import Workspace
from casparian_tui.app import CasparianApp
from casparian_tui.assistant import FactsBlock, ModelText
from casparian_tui.screens.dialogs import DetailsDialog
from casparian_tui.screens.discover import DiscoverScreen
from casparian_tui.screens.inspect import InspectScreen
from casparian_tui.screens.jobs import JobsScreen
from casparian_tui.screens.lab import LabModelWriting, LabScreen
from tests.engine.assistant_support import failed_job, planted_table
from tests.tui.assistant_support import needs_model, until

from .conftest import settle

SIZE = (120, 36)
ANSWER_TOKENS = 48
MODEL_LABEL = "local · SmolLM2-135M-Instruct.Q4_1.gguf · local"

pytestmark = needs_model


def once(messages: list[Message]) -> list[Message]:
    """Each message once (the hook sees a message at each node it bubbles through)."""
    return list({id(message): message for message in messages}.values())


def blocks(app: CasparianApp) -> list[str]:
    return [str(block.query_one(Static).render()) for block in app.screen.query(FactsBlock)]


async def answered(app: CasparianApp, pilot: Pilot[None]) -> None:
    """Wait until the model's question ran and its last piece is drawn."""
    await until(pilot, lambda: not app.service.ai.busy)
    await settle(app, pilot)


async def test_explain_streams_the_models_answer_under_the_facts(
    workspace: Workspace, tmp_path: Path
) -> None:
    job_id = failed_job(workspace, tmp_path)
    seen: list[Message] = []
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        app.service.ai.assistant.max_tokens = ANSWER_TOKENS
        await pilot.press("alt+j")
        await settle(app, pilot)
        assert isinstance(app.screen, JobsScreen)
        await pilot.press("w")
        await until(pilot, lambda: any(isinstance(m, ModelText) and m.done for m in seen))
        await answered(app, pilot)
        facts, model = blocks(app)[-2:]
        assert facts.startswith(f"Why job {job_id} failed (engine facts)\n")
        assert f"Job {job_id} failed: KeyError" in facts
        assert model.startswith(f"Model ({MODEL_LABEL})\n")
        answer = model.split("\n", 1)[1]
        pieces = [m for m in once(seen) if isinstance(m, ModelText) and m.block == f"job-{job_id}"]
        assert len(pieces) >= 2 and answer.strip()  # streamed in pieces, and said something
        assert answer == "".join(m.text for m in pieces)  # type: ignore[attr-defined]
        (question,) = workspace.audit.entries(action="ai.question")
        assert question.subject == "local" and question.details["outcome"] == "answered"
        assert question.details["question"].startswith(f"Explain why job {job_id} (failed)")


async def test_anomalies_stream_the_models_ranking_under_the_counts(workspace: Workspace) -> None:
    planted_table(workspace.config.output_dir / "orders" / "orders" / "part-0.parquet")
    seen: list[Message] = []
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        app.service.ai.assistant.max_tokens = ANSWER_TOKENS
        await pilot.press("alt+i")
        await settle(app, pilot)
        assert isinstance(app.screen, InspectScreen)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, DetailsDialog))
        await pilot.press("escape")
        await until(pilot, lambda: any(isinstance(m, ModelText) and m.done for m in seen))
        await answered(app, pilot)
        facts, model = blocks(app)[-2:]
        assert facts.startswith("Anomalies in orders (engine facts)\n")
        assert "mixed units · weight: 7 rows" in facts
        assert model.startswith(f"Model ({MODEL_LABEL})\n") and model.split("\n", 1)[1].strip()
        pieces = [
            m for m in once(seen) if isinstance(m, ModelText) and m.block == "anomalies-orders"
        ]
        assert len(pieces) >= 2


async def test_the_labs_model_draft_streams_into_its_sidebar_and_esc_stops_it(
    home: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data" / "invoices"
    data.mkdir(parents=True)
    (data / "inv0.csv").write_text("id,amount\n1,2.5\n2,3.5\n")
    folder = tmp_path / "parsers" / "invoices"
    seen: list[Message] = []
    with Workspace.open(home) as workspace:
        workspace.files.scan(data.parent)
        app = CasparianApp(workspace)
        async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
            lab = LabScreen([data / "inv0.csv"], "invoices")
            app.push_screen(lab)
            await settle(app, pilot)
            lab.query_one("#lab-folder", Input).value = str(folder)
            await pilot.press("m")
            await until(pilot, lambda: bool(lab.model_text.strip()))
            assert app.service.ai.busy and lab.query_one("AISidebar").display
            await pilot.press("d")  # refused while the model writes
            assert "the model is still drafting: Esc stops it" in str(
                lab.query_one("#lab-status").render()
            )
            await pilot.press("escape")  # stops the model; the lab stays open
            await until(pilot, lambda: lab.draft is not None)
            await answered(app, pilot)
            assert app.screen is lab
            assert lab.draft.parser_origin == ORIGIN_INFERRED
            assert "failed the checks" in lab.draft.notes[-1]
            assert (folder / PARSER_FILE).is_file()
            (model,) = blocks(app)
            assert model.startswith(f"Model draft of invoices ({MODEL_LABEL})\n")
            assert "— attempt 1: " in model
            pieces = [m for m in once(seen) if isinstance(m, LabModelWriting)]
            assert len(pieces) >= 2 and not pieces[0].verdict  # the model's own text came first
            assert pieces[-1].verdict.startswith("attempt 1: ")
            assert str(lab.query_one("#lab-files").render()).startswith("invoices · ")


async def test_the_discover_hint_is_worded_by_the_model_and_a_tags_with_its_tag(
    workspace: Workspace, data_dir: Path
) -> None:
    workspace.files.scan(data_dir)
    app = CasparianApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+d")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, DiscoverScreen)
        await pilot.press("space")
        await until(pilot, lambda: screen.files_hint is not None)  # the engine's, at once
        assert screen.files_hint.origin == "inferred"
        await pilot.press("down", "space")  # a newer selection: the model words its hint
        await until(
            pilot,
            lambda: (
                screen.files_hint is not None
                and screen.files_hint.origin == "model"
                and screen.files_hint.file_count == 2
            ),
        )
        await answered(app, pilot)
        hint = screen.files_hint
        assert str(screen.query_one("#suggestion").render()) == (
            f"💡 {hint.text}  (model · a to accept)"
        )
        assert hint.text.endswith(f" (comma CSV, 2 columns). Tag as '{hint.tag}'?")
        await pilot.press("a")
        await settle(app, pilot)
        tagged = sorted(Path(r.path).name for r in workspace.files.list(tag=hint.tag))
        assert tagged == ["inv0.csv", "inv1.csv"]
        newest = workspace.audit.entries(action="ai.hint")[0]
        assert newest.subject == hint.tag and newest.details["file_count"] == 2
        assert newest.details["model"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
