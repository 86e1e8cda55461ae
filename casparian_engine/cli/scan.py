"""``casparian scan``, ``files``, ``tag`` (and ``tag rule …``), ``untag``: discovery and tagging."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from .common import (
    console,
    counted,
    fail,
    folding_table,
    local_time,
    open_workspace,
    print_json,
)


class _TagGroup(TyperGroup):
    """``casparian tag PATH... TAG`` tags files; ``casparian tag rule …`` manages rules."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["files", *args]
        return super().parse_args(ctx, args)


tag_app = typer.Typer(
    name="tag",
    cls=_TagGroup,
    help=(
        "Tag files by hand — [bold]casparian tag PATH... TAG[/] (a folder tags every file under "
        "it) — or manage tag rules with [bold]casparian tag rule add/list/remove[/]."
    ),
    rich_markup_mode="rich",
    no_args_is_help=True,
)
rule_app = typer.Typer(
    name="rule",
    help=(
        "Tag rules: gitignore-style globs matched against each file's path relative to its "
        "scanned root. The highest-priority matching rule tags the file (one rule tag per file)."
    ),
    rich_markup_mode="rich",
    no_args_is_help=True,
)
tag_app.add_typer(rule_app)


def _scan_errors() -> tuple[type[Exception], ...]:
    from ..errors import CasparianError

    return (CasparianError,)


def scan(
    ctx: typer.Context,
    root: Path = typer.Argument(..., help="The folder to scan.", show_default=False),
    patterns: list[str] = typer.Option(
        [],
        "--pattern",
        "-p",
        help="Gitignore-style pattern selecting files, repeatable; '!' negates "
        "(e.g. -p '*.csv' -p '!archive/').",
    ),
    tags: list[str] = typer.Option([], "--tag", "-t", help="Tag every file found, repeatable."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON only."),
) -> None:
    """Scan a folder: record every file's size, mtime, SHA-256, identity and kind.

    A rescan re-reads only files whose size, mtime or inode changed, soft-deletes files that
    are gone, and keeps tags across renames. Unreadable entries are skipped and counted by
    reason; the exit code is non-zero only when the root itself cannot be scanned.
    """
    from ..events import ScanProgress

    show_progress = not as_json and sys.stdout.isatty() and console.is_terminal
    with open_workspace(ctx) as workspace:
        if not show_progress:
            try:
                summary = workspace.files.scan(root, patterns, tags)
            except _scan_errors() as exc:
                fail(exc)
        else:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
            with Progress(*columns, console=console, transient=True) as progress:
                task = progress.add_task(f"scanning {root}", total=None)

                def on_event(event: object) -> None:
                    if isinstance(event, ScanProgress):
                        progress.update(
                            task,
                            description=f"scanning {root}: {event.files_seen:,} files, "
                            f"{event.files_hashed:,} hashed, {event.skipped_count:,} skipped",
                        )

                try:
                    summary = workspace.files.scan(root, patterns, tags, on_event=on_event)
                except _scan_errors() as exc:
                    fail(exc)
    if as_json:
        print_json(summary.to_dict())
        return
    _print_summary(summary.to_dict())


def _print_summary(result: dict[str, Any]) -> None:
    console.print(
        f"[bold]{result['root']}[/]: {counted(result['files_seen'], 'file')} in "
        f"{result['elapsed_s']:.1f}s "
        f"— {result['new']:,} new, {result['changed']:,} changed, "
        f"{result['unchanged']:,} unchanged, {result['renamed']:,} renamed, "
        f"{result['deleted']:,} deleted, {result['excluded']:,} excluded by patterns",
        highlight=False,
    )
    if result["skipped"]:
        reasons = ", ".join(f"{n:,} {r}" for r, n in result["skipped_by_reason"].items())
        console.print(f"[yellow]skipped {result['skipped']:,}[/]: {reasons}", highlight=False)
        for example in result["skipped_examples"][:10]:
            console.print(
                f"  {example['reason']}: {example['path']}", highlight=False, markup=False
            )


def files(
    ctx: typer.Context,
    tag: str | None = typer.Option(None, "--tag", "-t", help="Only files with this tag."),
    untagged: bool = typer.Option(
        False, "--untagged", help="Only files without a rule or manual tag (kind: tags ignored)."
    ),
    pattern: str | None = typer.Option(
        None,
        "--pattern",
        "-p",
        help="Gitignore-style patterns over the path below the scanned folder, as in Discover's "
        "filter: '*.csv', 'invoices/2024/', '*.csv, !invoices/' (the last matching one decides).",
    ),
    limit: int = typer.Option(100, "--limit", "-n", min=1, help="How many files to show."),
    offset: int = typer.Option(0, "--offset", min=0, help="Skip this many files first."),
    order: str = typer.Option("path", "--order", help="path, size, mtime, first_seen; '-' desc."),
    as_json: bool = typer.Option(False, "--json", help="Print the files as JSON."),
) -> None:
    """List scanned files with their size, kind and tags."""
    with open_workspace(ctx) as workspace:
        try:
            records = workspace.files.list(tag, untagged, pattern, limit, offset, order)
        except ValueError as exc:
            fail(exc)
        total = workspace.files.count(tag, untagged, pattern)
    if as_json:
        print_json({"total": total, "files": [r.to_dict() for r in records]})
        return
    if not records:
        console.print("no files match (scan a folder with `casparian scan PATH`)")
        return

    table = folding_table("id", "path", "size", "kind", "tags", "modified")
    for record in records:
        modified = local_time(record.mtime_ns / 1e9, with_seconds=False)
        table.add_row(
            str(record.id), record.path, f"{record.size:,}", record.kind or "",
            ", ".join(record.tags), modified,
        )  # fmt: skip
    console.print(table)
    console.print(f"{len(records)} of {counted(total, 'file')}", highlight=False)


@tag_app.command("files", hidden=True)
def tag_files(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="Files or folders to tag.", show_default=False),
    tag: str = typer.Argument(..., help="The tag.", show_default=False),
) -> None:
    """Tag files (or every file under folders) by hand."""
    with open_workspace(ctx) as workspace:
        try:
            count = workspace.files.tag([str(p) for p in paths], tag)
        except _scan_errors() as exc:
            fail(exc)
    console.print(f"tagged {counted(count, 'file')} as '{tag}'", highlight=False)


def untag(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="Files or folders to untag.", show_default=False),
    tag: str = typer.Argument(..., help="The tag to remove.", show_default=False),
) -> None:
    """Remove a tag from files (or from every file under folders)."""
    with open_workspace(ctx) as workspace:
        try:
            count = workspace.files.untag([str(p) for p in paths], tag)
        except _scan_errors() as exc:
            fail(exc)
    console.print(f"removed '{tag}' from {counted(count, 'file')}", highlight=False)


@rule_app.command("add")
def rule_add(
    ctx: typer.Context,
    glob: str = typer.Argument(..., help="Gitignore-style glob, e.g. '*.csv' or 'invoices/**'."),
    tag: str = typer.Argument(..., help="The tag matching files get."),
    priority: int = typer.Option(0, "--priority", help="Higher rules are tried first."),
) -> None:
    """Add a tag rule and apply it to every scanned file."""
    with open_workspace(ctx) as workspace:
        try:
            rule = workspace.files.add_tag_rule(glob, tag, priority)
        except _scan_errors() as exc:
            fail(exc)
        tagged = workspace.files.count(tag=tag)
    console.print(
        f"rule {rule.id}: {rule.pattern} → {rule.tag} (priority {rule.priority}); "
        f"{counted(tagged, 'file')} tagged '{rule.tag}'",
        highlight=False,
    )


@rule_app.command("list")
def rule_list(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the rules as JSON."),
) -> None:
    """List tag rules, highest priority first."""
    with open_workspace(ctx) as workspace:
        rules = workspace.files.tag_rules()
    if as_json:
        print_json([{"id": r.id, "pattern": r.pattern, "tag": r.tag, "priority": r.priority}
                    for r in rules])  # fmt: skip
        return
    if not rules:
        console.print("no tag rules (add one with `casparian tag rule add GLOB TAG`)")
        return

    table = folding_table("id", "pattern", "tag", "priority")
    for rule in rules:
        table.add_row(str(rule.id), rule.pattern, rule.tag, str(rule.priority))
    console.print(table)


@rule_app.command("remove")
def rule_remove(
    ctx: typer.Context,
    rule_id: int = typer.Argument(..., help="The rule's id (see `tag rule list`)."),
) -> None:
    """Remove a tag rule and the tags it assigned."""
    with open_workspace(ctx) as workspace:
        try:
            rule = workspace.files.remove_tag_rule(rule_id)
        except _scan_errors() as exc:
            fail(exc)
    console.print(f"removed rule {rule.id}: {rule.pattern} → {rule.tag}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the discovery and tagging commands to the root ``casparian`` command."""
    app.command("scan")(scan)
    app.command("files")(files)
    app.command("untag")(untag)
    app.add_typer(tag_app)
