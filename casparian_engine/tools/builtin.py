"""The seven tools of spec §5.2, each a thin wrapper over ``Workspace`` methods.

Return values are plain JSON-ready dicts. Paths are checked by the registry's guard before a tool
runs (``path_params``); scope and file arguments that name stored files are checked here.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ..query_limits import DEFAULT_ROW_LIMIT
from ..workspace import ScopeDefinition, scope_from_arguments
from .registry import ToolContext, ToolRefused, tool

SAMPLE_FILES = 10


def _scope(ctx: ToolContext, name: str) -> ScopeDefinition:
    scope = ctx.workspace.scopes.get(name)
    if scope is None:
        from ..query_guard import name_list  # DuckDB loads when a tool needs it, not at import

        known = name_list([s.name for s in ctx.workspace.scopes.list()], "none yet")
        raise ValueError(
            f"unknown scope {name!r} (known scopes: {known}); create it with apply_scope"
        )
    return scope


def _scope_paths(ctx: ToolContext, scope: ScopeDefinition) -> list[str]:
    paths = [f.path for f in ctx.workspace.scopes.resolve(scope)]
    for path in paths:
        ctx.guard.check_path(path)
    return paths


@tool("record", path_params=("path",))
def quick_scan(ctx: ToolContext, path: str, patterns: list[str] | None = None) -> dict[str, Any]:
    """Scan a folder into the inventory: counts, classification tags and a sample of files.

    `patterns` are gitignore-style (e.g. `*.csv`, `!tmp/`). A rescan re-hashes only changed files.
    """
    resolved = str(ctx.guard.check_path(path))
    summary = ctx.workspace.files.scan(resolved, patterns=tuple(patterns or ()))
    scope = ScopeDefinition(name="", paths=(resolved,))
    sample = []
    for index, scoped in enumerate(ctx.workspace.scopes.resolve(scope, batch_size=50)):
        if index >= SAMPLE_FILES:
            break
        sample.append({"path": scoped.path, "size": scoped.size, "sha256": scoped.sha256})
    return {
        "root": resolved,
        "summary": summary.to_dict(),
        "tags": [{"tag": tag, "files": count} for tag, count in ctx.workspace.files.tag_counts()],
        "sample": sample,
    }


@tool("record", path_params=("paths",))
def apply_scope(
    ctx: ToolContext,
    name: str,
    tags: list[str] | None = None,
    patterns: list[str] | None = None,
    paths: list[str] | None = None,
    tag: str | None = None,
) -> dict[str, Any]:
    """Group scanned files into a named scope for processing, and optionally tag them.

    Files must carry one of `tags`, match the gitignore-style `patterns` (relative to the scanned
    root) and lie under one of `paths`; an omitted criterion does not narrow. Tagging the files with
    `tag` changes the inventory, so it needs a read-write server.
    """
    if not (tags or patterns or paths):
        raise ValueError("give at least one of tags, patterns or paths to define the scope")
    if tag and not ctx.guard.read_write:  # refused before anything is saved
        raise ToolRefused(
            "tagging files changes their tags, and this server was started without "
            "--read-write: start it with --read-write, or call apply_scope without `tag`"
        )
    resolved_paths = [str(ctx.guard.check_path(p)) for p in paths or ()]
    scope = ctx.workspace.scopes.save(scope_from_arguments(name, tags, patterns, resolved_paths))
    files = _scope_paths(ctx, scope)
    tagged = 0
    if tag:
        tagged = ctx.workspace.files.tag(list[str | int](files), tag) if files else 0
    return {
        "scope": {
            "name": scope.name,
            "tags": list(scope.tags),
            "patterns": list(scope.patterns),
            "paths": list(scope.paths),
        },
        "file_count": len(files),
        "sample": files[:SAMPLE_FILES],
        "tagged": tagged,
    }


@tool("record", path_params=("files",))
def discover_schemas(
    ctx: ToolContext, scope: str | None = None, files: list[str] | None = None
) -> dict[str, Any]:
    """Propose schema contracts from sample files (a scope or explicit files).

    Proposals are stored for a human to review and approve; nothing is locked here.
    """
    if bool(scope) == bool(files):
        raise ValueError("give exactly one of `scope` or `files`")
    paths = (
        _scope_paths(ctx, _scope(ctx, scope))
        if scope
        else [str(ctx.guard.check_path(f)) for f in files or ()]
    )
    if not paths:
        raise ValueError("the scope holds no files: scan a folder or widen the scope")
    report = ctx.workspace.contracts.discover(paths, name=scope)
    return {
        "proposals": [p.to_dict() for p in report.proposals],
        "skipped": [{"path": path, "reason": reason} for path, reason in report.skipped],
        "files": len(paths),
        "files_sniffed": report.sniffed,
    }


@tool("approve")
def approve_schemas(ctx: ToolContext, contract_ids: list[int]) -> dict[str, Any]:
    """Lock proposed contracts by id (needs a server started with --allow-approve)."""
    if not contract_ids:
        raise ValueError("give at least one contract id")
    approved = []
    for contract_id in contract_ids:
        approval = ctx.workspace.contracts.approve_id(contract_id)
        approved.append(
            {
                "requested_id": contract_id,
                "name": approval.current.name,
                "version": approval.current.version,
                "content_hash": approval.current.content_hash,
                "new_version": approval.created,
                "previous_version": approval.previous.version if approval.previous else None,
            }
        )
    return {"approved": approved}


@tool("run")
def run_backtest(ctx: ToolContext, parser: str, scope: str) -> dict[str, Any]:
    """Run a registered parser over a scope without writing outputs; files that failed before first.

    Returns pass / fail / quarantine counts overall and per file.
    """

    paths = _scope_paths(ctx, _scope(ctx, scope))
    report = ctx.workspace.parsers.backtest(parser, paths)
    return {
        "parser": report.parser_name,
        "version": report.parser_version,
        "counts": report.counts(),
        "files": [asdict(f) for f in report.files],
    }


def _pipeline_effect(ctx: ToolContext, arguments: dict[str, Any]) -> str:
    """What execute_pipeline will change, for the person who confirms it."""
    parser, scope = arguments.get("parser"), arguments.get("scope")
    definition = ctx.workspace.scopes.get(str(scope))
    files = sum(1 for _ in ctx.workspace.scopes.resolve(definition)) if definition else None
    held = f"{files} file(s)" if files is not None else "the files (the scope does not exist yet)"
    return (
        f"queues {held} of scope {scope!r} as jobs for parser {parser!r} and processes them "
        f"with the worker pool: the parser's output tables get new rows, bad rows go to "
        f"quarantine, and every job is recorded"
    )


@tool("write", effect=_pipeline_effect)
def execute_pipeline(ctx: ToolContext, parser: str, scope: str) -> dict[str, Any]:
    """Queue a scope's files for a registered parser and process them (read-write servers only)."""
    definition = _scope(ctx, scope)
    scope_paths = _scope_paths(ctx, definition)
    jobs = ctx.workspace.scopes.execute(parser, definition)
    health = ctx.workspace.parsers.health(parser)
    paused = health.pause_note if health is not None else None
    not_queued = None
    if not scope_paths:
        not_queued = f"no job queued: scope {scope!r} holds no files"
    elif not jobs:
        not_queued = (
            "no job queued: every file of the scope already has a job for this parser version "
            "(processed, queued or failed; replay failed ones with `casparian jobs replay`)"
        )
    return {
        "parser": parser,
        "scope": scope,
        "paused": paused,
        "not_queued": not_queued,
        "jobs": [
            {
                "job_id": job.id,
                "input_path": job.input_path,
                "status": job.status,
                "rows_written": job.rows_written,
                "rows_quarantined": job.rows_quarantined,
                "error": job.error_message,
            }
            for job in jobs
        ],
    }


@tool("read")
def query_output(ctx: ToolContext, sql: str, limit: int = DEFAULT_ROW_LIMIT) -> dict[str, Any]:
    """Run one read-only SELECT over the output tables (row and byte budgets apply).

    Tables are named after each parser output (`tables` in the answer lists them); a query may
    read only those and the table functions range, generate_series, unnest and read_parquet. It
    is cancelled after the query_timeout_s setting (30 s by default); BLOB values come back as hex
    text (`notes` says which columns).
    """
    with ctx.workspace.outputs.catalog(with_quarantine=False) as catalog:
        result = catalog.query(sql, limit=limit)
        tables = [t.name for t in catalog.tables]
    return {
        "columns": result.columns,
        "rows": result.rows,
        "row_count": result.row_count,
        "truncated": result.truncated,
        "truncated_reason": result.truncated_reason,
        "notes": result.notes,
        "tables": tables[:200],
    }
