"""Make the demo's Casparian home ready: tag rules for each format, then a first scan."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from ..events import EventSink, ignore_events
from ..scout.scan import ScanSummary
from ..workspace import Workspace
from .generator import DEFAULT_FILES, DemoResult, generate_demo, mark_home_prepared

# (gitignore-style glob relative to DIR/files, tag, priority)
DEMO_TAG_RULES: tuple[tuple[str, str, int], ...] = (
    ("invoices/**/*.csv", "invoices", 10),
    ("sensors/**/*.csv", "sensors", 10),
    ("logs/**/*.log", "syslog", 10),
    ("events/**/*.jsonl", "app_events", 10),
    ("legacy/**/*.TXT", "legacy_accounts", 10),
    ("finance/statements/**/*.csv", "bank_statements", 10),
)

# Level-2 sample parsers registered (their contracts approved) in the demo home, so Process has
# work to show at once. The Level-1 syslog parser stays a dev-loop example (`casparian run`):
# registration needs Level 2.
REGISTERED_PARSERS: tuple[str, ...] = ("invoices", "sensors", "app_events", "legacy_accounts")


@dataclass(frozen=True)
class DemoWorkspace:
    """The generated (or reused) demo and, when this run scanned it, the scan summary."""

    demo: DemoResult
    scan: ScanSummary | None

    @property
    def home_dir(self) -> Path:
        return self.demo.home_dir


def create_demo_workspace(
    root: str | Path,
    file_count: int = DEFAULT_FILES,
    seed: int = 0,
    *,
    force: bool = False,
    on_event: EventSink = ignore_events,
    cancel: threading.Event | None = None,
) -> DemoWorkspace:
    """Write the demo files and parsers, then add the tag rules and scan ``files/`` once."""
    demo = generate_demo(root, file_count, seed, force=force, on_event=on_event, cancel=cancel)
    if demo.reused and demo.manifest.get("home_prepared"):
        return DemoWorkspace(demo, None)
    with Workspace.open(demo.home_dir) as workspace:
        for glob, tag, priority in DEMO_TAG_RULES:
            workspace.files.add_tag_rule(glob, tag, priority)
        summary = workspace.files.scan(demo.files_dir, on_event=on_event, cancel=cancel)
        for parser_dir in REGISTERED_PARSERS:
            _approve_contracts(workspace, demo.parsers_dir / parser_dir)
            workspace.parsers.register(demo.parsers_dir / parser_dir)
    mark_home_prepared(demo)
    return DemoWorkspace(demo, summary)


def _approve_contracts(workspace: Workspace, parser_dir: Path) -> None:
    """Approve the sample contracts, as the person setting up the demo would (audited)."""
    from ..contracts import SchemaContract

    for path in sorted(parser_dir.glob("*.contract.yaml")):
        contract = SchemaContract.from_yaml(path.read_text(encoding="utf-8"), source=str(path))
        workspace.contracts.approve(contract)
