"""Registering a parser (n in Process): what would be stored, with the CLI's gatekeeper options
— ``--policy`` (strict refuses findings, warn records them) and ``--allow RULE`` (accept one
rule's findings for this parser, recorded in the audit trail) — read again as they change,
and stored only on a person's y."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import RadioButton, RadioSet, Static

from casparian_engine.errors import describe
from casparian_engine.wording import counted

from .workflow_options import OptionBox

if TYPE_CHECKING:
    from casparian_engine.workspace.results import RegistrationPreview

POLICIES = {
    "strict": "strict: refuse findings",
    "warn": "warn: register, record findings",
}
REGISTER_HINT = "Tab moves · space ticks · y registers (audited as you) · n/Esc: back"


@dataclass(frozen=True)
class RegisterChoice:
    """``casparian parser register``'s --allow rules and --policy, as a person chose them."""

    allow: tuple[str, ...]
    policy: str


@dataclass
class RegistrationReread(Message):
    """The folder was read again under other options (``problem`` when it could not be)."""

    choice: RegisterChoice
    preview: RegistrationPreview | None = None
    problem: str = ""


def registration_body(folder: str, preview: RegistrationPreview) -> str:
    """What registering would store: the bundle's files, what it selects, what the gatekeeper
    noted (refuses, records, or is allowed to accept); and what is left out."""
    lines = [
        f"A hashed, immutable bundle of {counted(len(preview.members), 'file')} from {folder} "
        f"(identity {preview.identity[:16]}):",
        *(f"  {member}" for member in preview.members),
    ]
    if preview.excluded:
        lines.append(f"not bundled (not source): {', '.join(preview.excluded)}")
    if preview.tags or preview.patterns:
        lines.append(
            f"selects files tagged {', '.join(preview.tags) or '-'}; "
            f"patterns {', '.join(preview.patterns) or '-'}"
        )
    else:
        lines.append("⚠ matches no files: declare tags or patterns in the parser")
    verdict = preview.verdict
    lines += [f"✗ gatekeeper refuses: {finding.message}" for finding in verdict.blocking]
    lines += [f"⚠ gatekeeper: {finding.message}" for finding in verdict.warned]
    lines += [f"allowed: {finding.message}" for finding in verdict.allowed]
    return "\n".join(lines)


def found_rules(preview: RegistrationPreview) -> dict[str, int]:
    """Each gatekeeper rule the parser's source trips, with its number of findings."""
    verdict = preview.verdict
    rules: dict[str, int] = {}
    for finding in (*verdict.blocking, *verdict.warned, *verdict.allowed):
        rules[finding.rule] = rules.get(finding.rule, 0) + 1
    return dict(sorted(rules.items()))


class RegisterDialog(ModalScreen[RegisterChoice | None]):
    """The registration's review: the bundle and the gatekeeper's verdict under the chosen
    policy and allowances. Each change reads the folder again (nothing is stored); y gives
    the choice back only when the verdict lets the parser in."""

    BINDINGS = [
        Binding("y", "register", "Register"),
        Binding("n,escape", "cancel", "Back"),
    ]

    def __init__(
        self, folder: str, preview: RegistrationPreview, policy: str, rule_notes: dict[str, str]
    ) -> None:
        super().__init__()
        self.folder = folder
        self.preview = preview
        self.choice = RegisterChoice((), policy)
        self.rules = found_rules(preview)
        self.rule_notes = rule_notes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog review", id="register"):
            yield Static("", classes="panel-title", id="review-title")
            with VerticalScroll(id="review-scroll"):
                yield Static("", id="review-body")
            with Vertical(id="register-options"):
                with RadioSet(id="register-policy"):
                    for policy, label in POLICIES.items():
                        yield RadioButton(
                            label, value=policy == self.choice.policy, id=f"policy-{policy}"
                        )
                for rule, findings in self.rules.items():
                    note = self.rule_notes.get(rule, rule)
                    yield OptionBox(
                        f"allow {rule} ({note}): {counted(findings, 'finding')}; audited as you",
                        id=f"allow-{rule}",
                    )
            yield Static("", id="register-problem")
            yield Static(Text(REGISTER_HINT, style="dim"), id="review-hint")

    def on_mount(self) -> None:
        self.show_preview()
        self.query_one("#review-scroll").focus()

    @property
    def workspace(self) -> Any:
        return self.app.service.workspace  # type: ignore[attr-defined]

    @property
    def problem_text(self) -> str:
        return str(self.query_one("#register-problem", Static).render())

    def show_preview(self) -> None:
        preview = self.preview
        change = preview.change
        if preview.current_version is not None:
            change += f"; {preview.current_version} is registered"
        verb = "Refused" if preview.verdict.refused else "Register"
        title = f"{verb} {preview.name} {preview.version} ({change})"
        title += f" under policy {self.choice.policy}" if preview.verdict.refused else "?"
        self.query_one("#review-title", Static).update(Content(title))
        self.query_one("#review-body", Static).update(
            Content(registration_body(self.folder, preview))
        )

    def _chosen(self) -> RegisterChoice:
        pressed = self.query_one(RadioSet).pressed_button
        policy = pressed.id.removeprefix("policy-") if pressed and pressed.id else "strict"
        allow = tuple(
            rule for rule in self.rules if self.query_one(f"#allow-{rule}", OptionBox).value
        )
        return RegisterChoice(allow, policy)

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        self.reread(self._chosen())

    def on_checkbox_changed(self, event: OptionBox.Changed) -> None:
        self.reread(self._chosen())

    @work(thread=True, exclusive=True, exit_on_error=False, group="register-reread")
    def reread(self, choice: RegisterChoice) -> None:
        try:
            preview = self.workspace.parsers.preview_registration(
                Path(self.folder).expanduser(), allow=choice.allow, policy=choice.policy
            )
        except ValueError as exc:
            self.post_message(RegistrationReread(choice, problem=describe(exc)))
            return
        self.post_message(RegistrationReread(choice, preview))

    def on_registration_reread(self, message: RegistrationReread) -> None:
        if message.choice != self._chosen():
            return  # read for options since changed
        problem = self.query_one("#register-problem", Static)
        if message.preview is None:  # the folder could not be read: ``problem`` says why
            problem.update(Text(f"✗ {message.problem}"))
            return
        problem.update("")
        self.preview, self.choice = message.preview, message.choice
        self.show_preview()

    def action_register(self) -> None:
        problem = self.query_one("#register-problem", Static)
        if self.choice != self._chosen():
            problem.update(Text("✗ still reading the folder under the new options: y again"))
            return
        if self.preview.verdict.refused:
            rules = ", ".join(sorted({f.rule for f in self.preview.verdict.blocking}))
            problem.update(
                Text(
                    f"✗ the gatekeeper refuses it under policy {self.choice.policy}: allow "
                    f"{rules} (space on each) or choose warn, if that is intended"
                )
            )
            return
        self.dismiss(self.choice)

    def action_cancel(self) -> None:
        self.dismiss(None)
