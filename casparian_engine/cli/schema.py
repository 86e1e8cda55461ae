"""`casparian schema`: discover a contract from samples, approve it, and look at versions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from .common import console, err_console, fail, open_workspace, print_json

if TYPE_CHECKING:
    from ..contracts.discover import Discovery
    from ..workspace import Approval

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
        None, "--parser", "-p", help="Name the contract after this parser (default: file stem)."
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
    """Sniff each file's dialect, infer column types by elimination, write proposals for review.

    All files are read in this one process, with a progress bar on a terminal. Files whose columns
    agree get one proposal; files of different shapes get one proposal per shape.
    """
    from ..contracts.discover import DiscoveryError, discover, sniff_files, usable_files

    given = _expand(list(paths or []))
    if tag is not None:
        with open_workspace(ctx) as workspace:
            tagged = [Path(r.path) for r in workspace.list_files(tag=tag, limit=MAX_TAGGED)]
        if not tagged:
            fail(f"no file in the inventory is tagged {tag!r}")
        given.extend(tagged)
    if not given:
        fail("name files, folders or glob patterns to discover, or --tag TAG")
    try:
        files, folder_skips = usable_files(given)
    except DiscoveryError as exc:
        fail(str(exc))
    per_file = _sniff_with_progress(files, sniff_files)
    shapes: dict[tuple[str, ...], list[Path]] = {}
    for entry in per_file:
        if entry.dialect is not None:
            shapes.setdefault(entry.columns, []).append(Path(entry.path))
    if not shapes:
        fail("; ".join(f"{e.path}: {e.error}" for e in per_file))
    name = parser or given[0].stem
    if len(shapes) == 1:
        every = all(entry.dialect is not None for entry in per_file)
        try:
            found = discover(given if every else next(iter(shapes.values())), name)
        except DiscoveryError as exc:
            fail(str(exc))
        target = out or Path(f"{name}.contract.yaml")
        _write_proposals(ctx, [(target, found)])
        if as_json:
            print_json(
                {
                    "file": str(target),
                    **_proposal_json(found),
                    "skipped": [{"path": p, "reason": r} for p, r in found.skipped],
                    "files": [entry.to_dict() for entry in per_file],
                }
            )
            return
        console.print(found.proposal_text(), markup=False, highlight=False)
        console.print(
            f"Proposal written to {target}. Approve with: casparian schema approve {target}"
        )
        return
    _discover_shapes(ctx, shapes, per_file, folder_skips, parser, out, as_json)


MAX_TAGGED = 100_000  # tagged files one discovery takes, at most


def _sniff_with_progress(files: list[Path], sniff: Any) -> list[Any]:
    """``sniff_files`` with a progress bar on stderr when it is a terminal."""
    if len(files) < 2 or not err_console.is_terminal:
        return list(sniff(files))
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("sniffing"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task("sniff", total=len(files))
        return list(sniff(files, lambda _path: progress.advance(task)))


def _proposal_json(found: Discovery) -> dict[str, object]:
    return {
        "dialect": found.dialect.to_dict(),
        "contract": found.contract.to_dict(),
        "candidate_formats": found.candidate_formats,
        "rows_sampled": found.rows_sampled,
        "warnings": list(found.warnings),
    }


def _write_proposals(ctx: typer.Context, proposals: list[tuple[Path, Discovery]]) -> None:
    for target, found in proposals:
        target.write_text(found.proposal_text(), encoding="utf-8")
    with open_workspace(ctx) as workspace:
        for _, found in proposals:
            workspace.propose_contract(found.contract, len(found.paths))


def _discover_shapes(
    ctx: typer.Context,
    shapes: dict[tuple[str, ...], list[Path]],
    per_file: list[Any],
    folder_skips: list[tuple[str, str]],
    parser: str | None,
    out: Path | None,
    as_json: bool,
) -> None:
    """One proposal per group of same-shaped files, written into ``out`` (a folder)."""
    from ..contracts.discover import DiscoveryError
    from ..contracts.grouping import discover_groups

    folder = out or Path(".")
    if folder.exists() and not folder.is_dir():
        fail(f"{folder}: the files hold tables of {len(shapes)} shapes; --out must be a folder")
    folder.mkdir(parents=True, exist_ok=True)
    members = [path for group in shapes.values() for path in group]
    try:
        groups, skipped = discover_groups(members, base_name=parser)
    except DiscoveryError as exc:
        fail(str(exc))
    proposals = [(folder / f"{g.name}.contract.yaml", g.discovery) for g in groups]
    _write_proposals(ctx, proposals)
    if as_json:
        print_json(
            {
                "files": [entry.to_dict() for entry in per_file],
                "proposals": [
                    {
                        "file": str(target),
                        "name": g.name,
                        "file_count": g.file_count,
                        **_proposal_json(g.discovery),
                    }
                    for (target, _), g in zip(proposals, groups, strict=True)
                ],  # fmt: skip
                "skipped": [{"path": p, "reason": r} for p, r in folder_skips]
                + [{"path": s.path, "reason": s.reason} for s in skipped],
            }
        )
        return
    for path, reason in folder_skips:
        console.print(f"Skipped {path}: {reason}", markup=False, highlight=False)
    for entry in per_file:
        if entry.dialect is None:
            console.print(f"Skipped {entry.path}: {entry.error}", markup=False, highlight=False)
    for target, found in proposals:
        console.print(
            f"{target}: {len(found.paths)} files, {found.dialect.describe()} "
            f"(confidence {found.dialect.confidence:.2f})",
            markup=False,
            highlight=False,
        )
    console.print(
        f"{len(proposals)} proposals written. Approve each with: casparian schema approve"
    )


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
                proposal = workspace.contract_proposal(source)
                if proposal is None:
                    fail(f"{source!r} is neither a contract file nor a proposed contract's name")
                contracts.append(proposal.contract)
        for contract in contracts:
            _report_approval(workspace.approve_contract(contract))


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
            workspace.get_contract(name, version)
            if version is not None
            else workspace.latest_contract(name) or workspace.contract_proposal(name)
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
        contracts = workspace.list_contracts()
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
        before = workspace.get_contract(name, old)
        after = workspace.get_contract(name, new)
    if before is None or after is None:
        fail(f"contract {name!r} has no version {old if before is None else new}")
    from ..contracts.diff import contract_diff

    diff = contract_diff(before.contract, after.contract, f"version {old}", f"version {new}")
    console.print(diff or "(identical)", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(schema_app, name="schema")
