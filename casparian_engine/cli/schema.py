"""`casparian schema`: discover a contract from samples, approve it, and look at versions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ..wording import counted
from .common import console, err_console, fail, open_workspace, print_json

if TYPE_CHECKING:
    from ..workspace import Approval, DiscoveryReport

schema_app = typer.Typer(
    help="Schema contracts: discover a proposal from sample files, approve it (locks a new "
    "immutable version, audited), and show, list or diff versions.",
    no_args_is_help=True,
)


GLOB_CHARS = "*?["


def _expand(arguments: list[str]) -> list[Path]:
    """Paths as given, with quoted glob patterns (``'data/**/*.csv'``) expanded here."""
    import glob

    paths: list[Path] = []
    for argument in arguments:
        if any(c in argument for c in GLOB_CHARS) and not Path(argument).exists():
            matched = sorted(glob.glob(argument, recursive=True))
            if not matched:
                fail(f"{argument}: no file matches this pattern")
            paths.extend(Path(m) for m in matched)
        else:
            paths.append(Path(argument))
    return paths


@schema_app.command("discover")
def discover_command(
    ctx: typer.Context,
    paths: list[str] = typer.Argument(
        None, help="Sample files, folders of CSV/TSV files, or quoted glob patterns."
    ),
    tag: str | None = typer.Option(
        None, "--tag", "-t", help="Also every file of the inventory with this tag."
    ),
    parser: str | None = typer.Option(
        None,
        "--parser",
        "-p",
        help="Name the contract after this parser output (default: after the files' folder).",
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Where to write the proposal (default: <name>.contract.yaml); a folder when the "
        "files hold tables of different shapes (one proposal each).",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print each file's dialect (with confidence) and the proposals."
    ),
) -> None:
    """Group the files by shape and propose one contract per shape, for review (audited).

    The same discovery as MCP's discover_schemas and the TUI's: each file's dialect is sniffed
    (at most 500 files, an even spread of more), column types are inferred by elimination from
    a sample of each group, and each proposal is stored and written to a file to review.
    """
    from ..contracts.discover import DiscoveryError

    given = _expand(list(paths or []))
    if tag is not None:
        with open_workspace(ctx) as workspace:
            tagged = [Path(r.path) for r in workspace.files.list(tag=tag, limit=MAX_TAGGED)]
        if not tagged:
            fail(f"no file in the inventory is tagged {tag!r}")
        given.extend(tagged)
    if not given:
        fail("name files, folders or glob patterns to discover, or --tag TAG")
    with open_workspace(ctx) as workspace, _progress() as on_progress:
        try:
            report = workspace.contracts.discover(given, parser, on_progress)
        except DiscoveryError as exc:
            fail(str(exc))
    if not report.proposals:
        fail(
            "no delimited text file to discover: "
            + "; ".join(f"{path}: {reason}" for path, reason in report.skipped)
        )
    targets = _proposal_files(report, out)
    for target, proposal in zip(targets, report.proposals, strict=True):
        target.write_text(proposal.discovery.proposal_text(), encoding="utf-8")
    if as_json:
        print_json(_discovery_document(report, targets))
    else:
        _print_discovery(report, targets)


def _proposal_files(report: DiscoveryReport, out: Path | None) -> list[Path]:
    """Where each proposal is written: ``out`` (or <name>.contract.yaml) for one shape; for
    several, <name>.contract.yaml each in the folder ``out`` (or here)."""
    if len(report.proposals) == 1:
        return [out or Path(f"{report.proposals[0].stored.name}.contract.yaml")]
    folder = out or Path(".")
    if folder.exists() and not folder.is_dir():
        fail(
            f"{folder}: the files hold tables of {len(report.proposals)} shapes; --out must "
            "be a folder (the proposals are stored: `casparian schema approve NAME` "
            "approves one by name)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    return [folder / f"{p.stored.name}.contract.yaml" for p in report.proposals]


def _discovery_document(report: DiscoveryReport, targets: list[Path]) -> dict[str, Any]:
    return {
        "files": [entry.to_dict() for entry in report.files],
        "files_total": report.total,
        "files_sniffed": report.sniffed,
        "proposals": [
            {"file": str(target), **proposal.to_dict()}
            for target, proposal in zip(targets, report.proposals, strict=True)
        ],
        "skipped": [{"path": path, "reason": reason} for path, reason in report.skipped],
    }


def _print_discovery(report: DiscoveryReport, targets: list[Path]) -> None:
    """One proposal in full with how to approve it; several as one line each."""
    if report.sniffed < report.total:
        console.print(
            f"Sniffed {report.sniffed} of {report.total} files (an even spread); each "
            "proposal's file count is an estimate.",
            markup=False,
        )
    if len(report.proposals) == 1:
        console.print(report.proposals[0].discovery.proposal_text(), markup=False, highlight=False)
        console.print(
            f"Proposal written to {targets[0]}. Approve with: casparian schema approve "
            f"{targets[0]}",
            markup=False,
            highlight=False,
        )
        return
    for path, reason in report.skipped:
        console.print(f"Skipped {path}: {reason}", markup=False, highlight=False)
    for target, proposal in zip(targets, report.proposals, strict=True):
        dialect = proposal.discovery.dialect
        console.print(
            f"{target}: {counted(proposal.file_count, 'file')}, {dialect.describe()} "
            f"(confidence {dialect.confidence:.2f})",
            markup=False,
            highlight=False,
        )
    console.print(
        f"{len(report.proposals)} proposals written. Approve each with: casparian schema approve"
    )


MAX_TAGGED = 100_000  # tagged files one discovery takes, at most


@contextmanager
def _progress() -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr for the sniff when it is a terminal (else no callback)."""
    if not err_console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("sniffing"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task("sniff", total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


@schema_app.command("approve")
def approve_command(
    ctx: typer.Context,
    sources: list[str] = typer.Argument(
        ..., help="Contract files (YAML/JSON) or proposals' names; each is approved in turn."
    ),
) -> None:
    """Lock contracts as their next immutable versions; prints each diff against the previous."""
    from ..contracts.model import ContractError, SchemaContract

    with open_workspace(ctx) as workspace:
        contracts = []
        for source in sources:  # read every source first: one bad file approves nothing
            path = Path(source)
            if path.is_file():
                text = path.read_text(encoding="utf-8")
                loader = (
                    SchemaContract.from_json if path.suffix == ".json" else SchemaContract.from_yaml
                )
                try:
                    contracts.append(loader(text, str(path)))
                except ContractError as exc:
                    fail(exc)
            else:
                proposal = workspace.contracts.proposal(source)
                if proposal is None:
                    fail(f"{source!r} is neither a contract file nor a proposed contract's name")
                contracts.append(proposal.contract)
        for contract in contracts:
            _report_approval(workspace.contracts.approve(contract))


def _report_approval(approval: Approval) -> None:
    current = approval.current
    if not approval.created:
        console.print(
            f"Contract {current.name!r} is unchanged: already approved as version "
            f"{current.version} ({current.content_hash[:12]})."
        )
        return
    from ..contracts.diff import contract_diff

    previous = approval.previous
    diff = contract_diff(
        previous.contract if previous else None,
        current.contract,
        f"version {previous.version}" if previous else "(none)",
        f"version {current.version}",
    )
    console.print(diff, markup=False, highlight=False)
    console.print(
        f"Approved {current.name!r} version {current.version} ({current.content_hash[:12]}) "
        f"by {current.approved_by}."
    )


@schema_app.command("show")
def show_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Contract name."),
    version: int | None = typer.Option(None, "--version", "-v", help="Default: latest approved."),
) -> None:
    """Print a contract version as YAML."""
    with open_workspace(ctx) as workspace:
        stored = (
            workspace.contracts.get(name, version)
            if version is not None
            else workspace.contracts.latest(name) or workspace.contracts.proposal(name)
        )
    if stored is None:
        fail(f"no contract {name!r}" + (f" version {version}" if version is not None else ""))
    console.print(
        f"# {stored.name} version {stored.version} ({stored.status}), {stored.content_hash}",
        markup=False,
    )
    console.print(stored.contract.to_yaml(), markup=False, highlight=False)


@schema_app.command("list")
def list_command(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    """Every contract name with its newest version and status."""
    with open_workspace(ctx) as workspace:
        contracts = workspace.contracts.list()
    rows = [
        {
            "name": c.name,
            "version": c.version,
            "status": c.status,
            "content_hash": c.content_hash,
            "columns": len(c.contract.columns),
            "approved_by": c.approved_by,
        }
        for c in contracts
    ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("No contracts yet: run `casparian schema discover <files>`.")
    for row in rows:
        console.print(
            f"{row['name']:<30} v{row['version']:<4} {row['status']:<9} "
            f"{row['columns']:>3} columns  {str(row['content_hash'])[:12]}",
            markup=False,
        )


@schema_app.command("diff")
def diff_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Contract name."),
    old: int = typer.Argument(..., help="Older version."),
    new: int = typer.Argument(..., help="Newer version."),
) -> None:
    """Unified diff between two versions of a contract."""
    with open_workspace(ctx) as workspace:
        before = workspace.contracts.get(name, old)
        after = workspace.contracts.get(name, new)
    if before is None or after is None:
        fail(f"contract {name!r} has no version {old if before is None else new}")
    from ..contracts.diff import contract_diff

    diff = contract_diff(before.contract, after.contract, f"version {old}", f"version {new}")
    console.print(diff or "(identical)", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(schema_app, name="schema")
