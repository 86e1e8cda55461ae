"""The assistant in each mode, as mixins the mode screens take on with a line each:

- Discover: a hint that says what the selected files look like and suggests a tag, computed in a
  worker whenever the selection changes (the list never waits), then worded again by the model
  when one is configured (marked "model"); ``a`` accepts it, tagging them.
- Process and Jobs: "explain this failure" puts a failed or warned job's facts in the sidebar.
- Inspect: "what anomalies do you see?" lists the engine's anomalies with their counts.
- Discover: ``l`` opens the Parser Lab on the selected files, or on a tag's files when the
  filter is ``tag:NAME`` and nothing is selected.

The facts come from the engine (``lab.facts.describe_files`` and ``explain_failure``,
``ws.outputs.anomalies``); without a model they are shown as they are, and say so.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from casparian_engine.job_states import ERROR_STATES
from casparian_engine.wording import counted

from .widgets.ai_sidebar import AISidebar

if TYPE_CHECKING:
    from .screens.base import ModeScreen

    _Base = ModeScreen
else:
    _Base = object

NO_MODEL_NOTE = "(engine facts; no model explained them)"
LATEST_JOBS = 50  # a parser's jobs searched for the latest failed or warned one


@dataclass
class FilesHinted(Message):
    """The hint for a selection of files (None when it could not be made)."""

    key: tuple[int, ...]
    hint: Any
    error: str = ""


@dataclass
class LabSamplesFound(Message):
    """The files carrying a tag, to open the lab on (or why there are none)."""

    tag: str
    paths: list[Path]
    error: str = ""


@dataclass
class FailureExplained(Message):
    job_id: int
    facts: Any
    nothing: str = ""
    """Why there is nothing to explain (no failed job), when facts is None."""


@dataclass
class AnomaliesFound(Message):
    table: str
    anomalies: list[Any]


class FactsBlock(VerticalScroll):
    """One block of facts in the sidebar's log, scrolling on its own when long."""

    DEFAULT_CSS = """
    FactsBlock { height: auto; max-height: 20; margin-bottom: 1; }
    """


def post_to_sidebar(screen: ModeScreen, title: str, body: str) -> None:
    """Open the AI sidebar and add a titled block of plain text to its log (literal text: paths
    and code hold "[")."""
    screen.casparian.show_ai_sidebar = True
    sidebar = screen.query_one(AISidebar)
    sidebar.display = True
    sidebar.sync_history()  # drawn now, so showing the sidebar does not redraw over the block
    log = sidebar.query_one("#ai-log")
    text = Static(Content.assemble((title, "bold"), "\n", body), classes="ai-facts")
    log.mount(FactsBlock(text))


@dataclass
class ModelText(Message):
    """More of a model's answer for the sidebar block ``block`` (the first piece mounts it)."""

    block: str
    title: str
    text: str
    done: bool = False


STREAM_CHUNK = 80  # characters of a model's answer sent to the screen at a time


class ModelAnswers(_Base):
    """Streams the configured model's answer to a question into the sidebar, under the facts.
    With no model configured nothing is asked: the facts stand alone, saying so."""

    model_blocks: dict[str, tuple[Static, str]]
    """Each streamed answer's block in the sidebar and its text so far."""

    def model_configured(self) -> bool:
        from casparian_engine.ai import NoneProvider

        return not isinstance(self.service.ai.provider, NoneProvider)

    def ask_model(self, block: str, question: str, mode: str) -> None:
        self.run_worker(
            lambda: self._stream_answer(block, question, mode),
            thread=True,
            exclusive=True,
            exit_on_error=False,
            group="assistant-model",
        )

    def _stream_answer(self, block: str, question: str, mode: str) -> None:
        """Ask through the app's assistant (its history, audit and busy state: Esc in the
        sidebar stops it too) and post the answer as it streams."""
        from casparian_engine.ai import AIContext, AIErrorEvent, TextDelta

        ai = self.service.ai
        title = f"Model ({ai.label})"
        cancel = ai.begin()
        if cancel is None:
            self.post_message(
                ModelText(block, title, "busy with another question: ask again after it", True)
            )
            return
        pending = ""
        try:
            for event in ai.assistant.ask(question, AIContext(mode=mode), cancel):
                if isinstance(event, TextDelta):
                    pending += event.text
                    if len(pending) >= STREAM_CHUNK:
                        self.post_message(ModelText(block, title, pending))
                        pending = ""
                elif isinstance(event, AIErrorEvent):
                    pending += f"\n✗ {event.message}"
        finally:
            ai.end(cancel)
            self.post_message(ModelText(block, title, pending, done=True))

    def on_model_text(self, message: ModelText) -> None:
        if not hasattr(self, "model_blocks"):
            self.model_blocks = {}
        shown = self.model_blocks.get(message.block)
        if shown is None:
            shown = (Static("", classes="ai-facts"), "")
            self.casparian.show_ai_sidebar = True
            log = self.query_one(AISidebar).query_one("#ai-log")
            log.mount(FactsBlock(shown[0]))
        static, answer = shown[0], shown[1] + message.text
        self.model_blocks[message.block] = (static, answer)
        static.update(Content.assemble((message.title, "bold"), "\n", answer))


class DiscoverAssistant(_Base):
    """The Discover screen's hint about the selected files, and the key that opens the lab."""

    files_hint: Any = None
    hint_key: tuple[int, ...] = ()
    selected_ids: set[int]  # the Discover screen's selection (it sets it in __init__)

    def selected_records(self) -> list[Any]:
        """The selected files on this page, else the highlighted one."""
        records = [r for r in getattr(self, "page_rows", []) if r.id in self.selected_ids]
        current = getattr(self, "current_record", None)
        return records or ([current] if current is not None else [])

    refine_cancel: Any = None
    """The cancel token of the model refining a hint now, else None."""
    refine_pending: tuple[tuple[int, ...], Any] | None = None
    """The newest hint waiting for the model (its selection key and the engine's hint)."""
    refining = False
    """A worker is refining hints (it takes the pending one when it is done)."""

    def refresh_hint(self) -> None:
        """Recompute the hint for the selection (in a worker; the newest selection wins)."""
        ids = tuple(sorted(self.selected_ids))
        self.hint_key = ids
        if self.refine_cancel is not None:
            self.refine_cancel.cancel()  # the model was refining an older selection's hint
        self.refine_pending = None
        if not ids:
            self.files_hint = None
            self._show_hint()
            return
        records = [r for r in getattr(self, "page_rows", []) if r.id in self.selected_ids]
        self.compute_hint(ids, [r.os_path for r in records])

    @work(thread=True, exclusive=True, exit_on_error=False, group="discover-hint")
    def compute_hint(self, key: tuple[int, ...], paths: list[str]) -> None:
        if not paths:
            self.post_message(FilesHinted(key, None))
            return
        try:
            scan_root = self._scan_root(paths[0])
            from casparian_engine.lab.facts import describe_files

            root = Path(scan_root) if scan_root else None
            hint = describe_files([Path(p) for p in paths], root)
        except (OSError, ValueError) as exc:
            self.post_message(FilesHinted(key, None, str(exc)))
            return
        self.post_message(FilesHinted(key, hint))

    def _scan_root(self, path: str) -> str | None:
        """The scanned folder a file is under (tags are named after its top folders)."""
        roots = self.service.workspace.files.source_roots()
        under = [root for root in roots if path.startswith(root.rstrip("/") + "/")]
        return max(under, key=len) if under else None

    def on_files_hinted(self, message: FilesHinted) -> None:
        if message.key != self.hint_key:
            return  # the hint for an older selection
        self.files_hint = message.hint
        self._show_hint()
        hint = message.hint
        if hint is not None and hint.origin == "inferred" and self.model_configured():
            self.refine_later(message.key, hint)

    def model_configured(self) -> bool:
        from casparian_engine.ai import NoneProvider

        return not isinstance(self.service.ai.provider, NoneProvider)

    def on_unmount(self) -> None:
        """Closing the app stops the model refining a hint (at its next token)."""
        self.refine_pending = None
        if self.refine_cancel is not None:
            self.refine_cancel.cancel()

    def refine_later(self, key: tuple[int, ...], hint: Any) -> None:
        """Have the model word this hint once it is done with the one it is on (which a newer
        selection has cancelled): only the newest selection's hint waits."""
        lock = self.__dict__.setdefault("refine_lock", threading.Lock())
        with lock:
            self.refine_pending = (key, hint)
            if self.refining:
                return
            self.refining = True
        self.refine_hints()

    @work(thread=True, exit_on_error=False, group="discover-hint-model")
    def refine_hints(self) -> None:
        """Refine the pending hint, then any newer one, one at a time through the app's
        assistant (when it is busy with a person's question, the engine's hint stands)."""
        from casparian_engine.lab.model_hint import refine_hint

        ai = self.service.ai
        lock: threading.Lock = self.__dict__["refine_lock"]
        while True:
            with lock:
                pending, self.refine_pending = self.refine_pending, None
                cancel = ai.begin() if pending is not None else None
                if cancel is None:
                    self.refining = False
                    return
                self.refine_cancel = cancel
            assert pending is not None
            key, hint = pending
            try:
                refined = refine_hint(self.service.workspace, hint, ai.provider, cancel)
            finally:
                ai.end(cancel, history_changed=False)
                self.refine_cancel = None
            if refined is not None:
                self.post_message(FilesHinted(key, refined))

    def _show_hint(self) -> None:
        line = self.query_one("#suggestion", Static)
        if self.files_hint is not None:
            origin = "model" if self.files_hint.origin == "model" else ""
            line.update(
                Content.from_markup(
                    "💡 $text  [dim]($origin)[/dim]",
                    text=self.files_hint.text,
                    origin=f"{origin} · a to accept" if origin else "a to accept",
                )
            )
        elif getattr(self, "suggestion", None) is not None:
            self.on_suggestions_computed_again()
        else:
            line.update(Content(""))

    def on_suggestions_computed_again(self) -> None:
        suggestion = getattr(self, "suggestion", None)
        if suggestion is not None:
            self.query_one("#suggestion", Static).update(
                Content.from_markup("💡 $text  [dim](a to accept)[/dim]", text=suggestion.text)
            )

    def accept_files_hint(self) -> bool:
        """Tag the selected files with the hint's tag (a person's key press); False when no
        hint is showing."""
        hint = self.files_hint
        if hint is None or not self.selected_ids:
            return False
        self.tag_files(sorted(self.selected_ids), hint.tag)  # type: ignore[attr-defined]
        self.files_hint = None
        self.hint_key = ()
        return True

    def action_open_lab(self) -> None:
        """Open the Parser Lab on the selected files; with none selected and the filter naming
        one tag (``tag:invoices``), on the files carrying that tag; else on the highlighted file."""
        from .screens.lab import LabScreen

        tag = None if self.selected_ids else self.filter_tag()
        if tag is not None:
            self.open_lab_for_tag(tag)
            return
        records = self.selected_records()
        if not records:
            self.notify("No file to draft a parser for: select files first.", severity="warning")
            return
        tags = {tag for record in records for tag in record.tags if ":" not in tag}
        tag = next(iter(tags)) if len(tags) == 1 else None
        if tag is None and self.files_hint is not None:
            tag = self.files_hint.tag
        paths = [Path(record.os_path) for record in records]
        self.app.push_screen(LabScreen(paths, tag))

    def filter_tag(self) -> str | None:
        """The tag the filter names when it is one ``tag:`` term and nothing else."""
        from casparian_engine.errors import CasparianError

        try:
            text = getattr(self, "filter_text", "")
            listing_filter = self.service.workspace.files.read_filter(text)
        except CasparianError:  # FilterError
            return None
        if listing_filter.patterns or len(listing_filter.tags) != 1:
            return None
        (tag,) = listing_filter.tags
        return None if tag.startswith("kind:") else tag

    @work(thread=True, exclusive=True, exit_on_error=False, group="discover-lab")
    def open_lab_for_tag(self, tag: str) -> None:
        from casparian_engine.lab import LabError, tagged_samples

        try:
            paths = tagged_samples(self.service.workspace, tag)
        except LabError as exc:
            self.post_message(LabSamplesFound(tag, [], str(exc)))
            return
        self.post_message(LabSamplesFound(tag, paths))

    def on_lab_samples_found(self, message: LabSamplesFound) -> None:
        from .screens.lab import LabScreen

        if message.error:
            self.notify(message.error, severity="warning")
            return
        self.app.push_screen(LabScreen(message.paths, message.tag))


class ExplainFailure(ModelAnswers):
    """``w`` on a failed or warned job: its facts (and, with a model, an explanation) in the
    sidebar."""

    def job_to_explain(self) -> int | str | None:
        """The highlighted job's id, or a parser's name (its latest failed or warned job); None
        when nothing there can be explained. A hook: each screen using this mixin (Jobs,
        Process) defines it; reaching this one is a programming error."""
        raise NotImplementedError(f"{type(self).__name__} must define job_to_explain")

    def action_explain_failure(self) -> None:
        target = self.job_to_explain()
        if target is None:
            self.notify("No failed or warned job here to explain.", severity="warning")
            return
        self.explain(target)

    @work(thread=True, exclusive=True, exit_on_error=False, group="explain-failure")
    def explain(self, target: int | str) -> None:
        workspace = self.service.workspace
        if isinstance(target, str):
            recent = workspace.jobs.list(parser=target, limit=LATEST_JOBS)
            job = next((j for j in recent if explainable(j)), None)
            if job is None:
                self.post_message(FailureExplained(0, None, f"no failed or warned job of {target}"))
                return
            target = job.id
        from casparian_engine.lab.facts import explain_failure

        self.post_message(FailureExplained(target, explain_failure(workspace, target)))

    def on_failure_explained(self, message: FailureExplained) -> None:
        if message.facts is None:
            self.notify(f"Nothing to explain: {message.nothing}.", severity="warning")
            return
        from casparian_engine.lab.facts import failure_question

        with_model = self.model_configured()
        note = "(engine facts)" if with_model else NO_MODEL_NOTE
        title = f"Why job {message.job_id} {message.facts.status} {note}"
        post_to_sidebar(self, title, message.facts.as_text())
        if with_model:
            question = failure_question(message.facts)
            self.ask_model(f"job-{message.job_id}", question, self.MODE)


def explainable(job: Any) -> bool:
    """Whether a job failed or ended with warnings (quarantined rows)."""
    return job is not None and (
        job.status in ERROR_STATES or bool(job.error_kind) or job.rows_quarantined > 0
    )


class InspectAnomalies(ModelAnswers):
    """``a`` in Inspect: the table's anomalies with their counts, in a dialog and the sidebar."""

    def action_show_anomalies(self) -> None:
        table = getattr(self, "table_name", "")
        if not table:
            self.notify("Choose a table first.", severity="warning")
            return
        self.find_anomalies(table)

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect-anomalies")
    def find_anomalies(self, table: str) -> None:
        self.post_message(AnomaliesFound(table, self.service.workspace.outputs.anomalies(table)))

    def on_anomalies_found(self, message: AnomaliesFound) -> None:
        from .screens.dialogs import DetailsDialog

        if not message.anomalies:
            facts = {"anomalies": "none found (null spikes, outliers, rare categories, "
                     "duplicate keys, future dates, mixed units)"}  # fmt: skip
        else:
            facts = {
                f"{index}. {a.kind} · {a.column}": f"{counted(a.count, 'row')}: {a.detail}"
                for index, a in enumerate(message.anomalies, start=1)
            }
        from casparian_engine.anomalies import anomalies_question

        body = "\n".join(f"{label}: {text}" for label, text in facts.items())
        with_model = self.model_configured()
        note = "(engine facts)" if with_model else NO_MODEL_NOTE
        post_to_sidebar(self, f"Anomalies in {message.table} {note}", body)
        if with_model:
            question = anomalies_question(message.table, message.anomalies)
            self.ask_model(f"anomalies-{message.table}", question, self.MODE)
        if self.is_current:
            self.app.push_screen(DetailsDialog(f"Anomalies in {message.table}", facts))
