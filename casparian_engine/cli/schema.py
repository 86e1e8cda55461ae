"""`casparian schema`: discover a contract from samples, approve it, and look at versions."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .common import console, fail, open_workspace, print_json

if TYPE_CHECKING:
    from ..store.contracts import Approval

schema_app = typer.Typer(
    help="Schema contracts: discover a proposal from sample files, approve it (locks a new "
    "immutable version, audited), and show, list or diff versions.",
    no_args_is_help=True,
)


def _yaml_lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


@schema_app.command("discover")
def discover_command(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="Sample files, or folders of CSV/TSV files."),
    parser: str | None = typer.Option(
        None, "--parser", "-p", help="Name the contract after this parser (default: file stem)."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Where to write the proposal (default: <name>.contract.yaml)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the proposal as JSON."),
) -> None:
    """Sniff the dialect, infer column types by elimination, write the proposal for review."""
    from ..contracts.discover import DiscoveryError, discover

    name = parser or paths[0].stem
    try:
        found = discover(paths, name)
    except DiscoveryError as exc:
        fail(exc)
    target = out or Path(f"{name}.contract.yaml")
    target.write_text(found.proposal_text(), encoding="utf-8")
    with open_workspace(ctx) as workspace:
        workspace.propose_contract(found.contract)
    if as_json:
        print_json(
            {
                "file": str(target),
                "dialect": found.dialect.to_dict(),
                "contract": found.contract.to_dict(),
                "candidate_formats": found.candidate_formats,
                "rows_sampled": found.rows_sampled,
                "warnings": list(found.warnings),
                "skipped": [{"path": p, "reason": r} for p, r in found.skipped],
            }
        )
        return
    console.print(found.proposal_text(), markup=False, highlight=False)
    console.print(f"Proposal written to {target}. Approve with: casparian schema approve {target}")


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
                proposal = workspace.store.contracts.proposal(source)
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
    before = approval.previous.contract.to_yaml() if approval.previous else ""
    diff = difflib.unified_diff(
        _yaml_lines(before),
        _yaml_lines(current.contract.to_yaml()),
        f"version {approval.previous.version}" if approval.previous else "(none)",
        f"version {current.version}",
    )
    console.print("".join(diff), markup=False, highlight=False)
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
            workspace.store.contracts.get(name, version)
            if version is not None
            else workspace.store.contracts.latest(name) or workspace.store.contracts.proposal(name)
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
        before = workspace.store.contracts.get(name, old)
        after = workspace.store.contracts.get(name, new)
    if before is None or after is None:
        fail(f"contract {name!r} has no version {old if before is None else new}")
    diff = difflib.unified_diff(
        _yaml_lines(before.contract.to_yaml()),
        _yaml_lines(after.contract.to_yaml()),
        f"version {old}",
        f"version {new}",
    )
    console.print("".join(diff) or "(identical)", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(schema_app, name="schema")
