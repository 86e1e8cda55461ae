"""Small modal dialogs: one-line prompts (tag name, folder, filter, export path), yes/no
questions and details."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Static

Check = Callable[[str], str]
"""Reads a prompt's answer: the reason it cannot be used, or '' when it can."""


class PromptDialog(ModalScreen[str | None]):
    """Ask for one line of text; Enter returns it, Esc returns None.

    With a ``check``, an answer it refuses keeps the dialog open with the text as typed and the
    reason under it, so a typo is corrected, not retyped."""

    DEFAULT_CSS = """
    PromptDialog .prompt-problem {
        color: $error;
        height: auto;
    }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("tab", "complete", "Complete", show=False, priority=True),
    ]

    def __init__(
        self,
        title: str,
        placeholder: str = "",
        value: str = "",
        check: Check | None = None,
        suggester: Suggester | None = None,
        hint: str = "",
    ) -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.initial_value = value
        self.check = check
        self.suggester = suggester
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Content(self.title_text), classes="panel-title")
            yield Input(
                value=self.initial_value,
                placeholder=self.placeholder,
                id="prompt",
                suggester=self.suggester,
            )
            if self.hint:
                yield Static(Text(self.hint, style="dim"), id="prompt-hint")
            yield Static("", id="prompt-problem", classes="prompt-problem")

    def action_complete(self) -> None:
        """Tab takes the input's suggestion (as → at the end of the text does)."""
        prompt = self.query_one(Input)
        prompt.cursor_position = len(prompt.value)
        prompt.action_cursor_right()

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def show_problem(self, text: str) -> None:
        """Say under the input why the answer was not taken (literal text: it quotes input)."""
        self.query_one("#prompt-problem", Static).update(Text(text))

    @property
    def problem_text(self) -> str:
        return str(self.query_one("#prompt-problem", Static).render())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        answer = event.value.strip()
        problem = self.check(answer) if self.check is not None else ""
        if problem:
            self.show_problem(problem)
            return
        self.dismiss(answer)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question: y or Enter says yes, n or Esc says no."""

    DEFAULT_CSS = """
    ConfirmDialog {
        align: center middle;
    }
    """
    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str, hint: str = "y overwrites · n or Esc goes back") -> None:
        super().__init__()
        self.question = question
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.question), id="confirm-question")
            yield Static(Text(self.hint, style="dim"))

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class ReviewDialog(ModalScreen[bool]):
    """A yes/no question over what would change (files, a diff) shown in a scrolling body:
    y says yes; n or Esc says no. Enter is not a yes here: a change is confirmed on purpose."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, title: str, body: Content | str, hint: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body if isinstance(body, Content) else Content(body)
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog review"):
            yield Static(Content(self.title_text), classes="panel-title", id="review-title")
            with VerticalScroll(id="review-scroll"):
                yield Static(self.body, id="review-body")
            yield Static(Text(self.hint, style="dim"), id="review-hint")

    def on_mount(self) -> None:
        self.query_one("#review-scroll").focus()  # arrows and page keys scroll the body

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class DetailsDialog(ModalScreen[None]):
    """Every fact about one thing (a file, a quarantined row) as label: value lines."""

    BINDINGS = [Binding("escape,enter,q", "close", "Close")]

    def __init__(self, title: str, facts: Mapping[str, object]) -> None:
        super().__init__()
        self.title_text = title
        self.facts = facts

    def compose(self) -> ComposeResult:
        width = max((len(k) for k in self.facts), default=0)
        lines = Content("\n").join(
            Content.assemble((label.ljust(width), "bold"), "  ", str(value))
            for label, value in self.facts.items()
        )  # facts are data (paths with "[" in them): never read as markup
        with VerticalScroll(classes="dialog details"):
            yield Static(Content(self.title_text), classes="panel-title")
            yield Static(lines, id="details-body")

    def action_close(self) -> None:
        self.dismiss(None)


class ChoiceDialog(ModalScreen[str | None]):
    """A question with lettered answers (each says what will change); n or Esc answers none."""

    DEFAULT_CSS = """
    ChoiceDialog {
        align: center middle;
    }
    ChoiceDialog .choice {
        height: auto;
    }
    """
    BINDINGS = [Binding("n,escape", "choose_nothing", "Nothing")]

    def __init__(self, question: str, choices: Mapping[str, str], note: str = "") -> None:
        super().__init__()
        self.question = question
        self.choices = dict(choices)  # key -> what it does
        self.note = note

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Static(Text(self.question), id="choice-question")
            for key, text in self.choices.items():
                yield Static(
                    Text.assemble((f"{key}  ", "bold"), text), id=f"choice-{key}", classes="choice"
                )
            if self.note:
                yield Static(Text(self.note, style="dim"), id="choice-note")
            yield Static(Text("n or Esc: nothing", style="dim"))

    def on_key(self, event: Any) -> None:
        if event.key in self.choices:
            event.stop()
            self.dismiss(event.key)

    def action_choose_nothing(self) -> None:
        self.dismiss(None)
