"""Try a draft: run it on the samples through the same executor as ``casparian run``.

The guest, contract validation and quarantine are the dev loop's own (``ws.parsers.run``);
rows go to a scratch Parquet folder under ``<home>/lab/<parser>/try`` (replaced on each try), so a
try never touches the production outputs. The result gives rows written and quarantined per
output, the first quarantine reasons with their line numbers, and a preview of each output.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .samples import MAX_SAMPLE_FILES, LabError, expand_samples

if TYPE_CHECKING:
    import threading

    from ..runner.dev import RunSummary
    from ..workspace import Workspace

PREVIEW_ROWS = 10
ROW = "_cf_row"
FIRST_REASONS = 5


@dataclass(frozen=True)
class Reason:
    """One quarantined row: where it was and why."""

    row: int | None
    rules: str
    reason: str


@dataclass(frozen=True)
class OutputTry:
    """One output of a try: counts, first quarantine reasons and the first rows."""

    name: str
    written: int
    quarantined: int
    reasons: tuple[Reason, ...] = ()
    columns: tuple[tuple[str, str], ...] = ()
    """(name, type) of the written rows."""
    preview: tuple[tuple[Any, ...], ...] = ()


@dataclass(frozen=True)
class SampleRunOptions:
    """``casparian run``'s options for a dev run of a registered parser on sample files:
    ``sink`` (None: the samples' scratch folder, replaced each run), ``whatif`` (parse, write
    nothing), ``force`` (replace outputs that exist at the sink) and ``allow_network`` (the
    host's network for the guest; audited as ``guest.network_allowed``)."""

    sink: str | None = None
    whatif: bool = False
    force: bool = False
    allow_network: bool = False


@dataclass(frozen=True)
class TryResult:
    """What a try of a parser folder on sample files gave."""

    folder: Path
    files: tuple[Path, ...]
    outputs: tuple[OutputTry, ...] = ()
    failure: str | None = None
    """Why the run stopped (the parser did not load, a file failed), else None."""
    failed_files: tuple[str, ...] = field(default=())
    seconds: float = 0.0
    cancelled: bool = False
    """The run was stopped (its guest killed); nothing it parsed was kept."""
    origin: str = ""
    """Which copy of the parser ran, when it matters ('source folder …', 'registered bundle')."""
    sink: str = ""
    """Where the rows went (the sink's URI; with ``whatif``, where they would go)."""
    whatif: bool = False
    """Nothing was written: the counts, columns and targets are what a run would write."""
    targets: tuple[tuple[str, str], ...] = ()
    """(output, where its rows went or would go)."""
    existing_outputs: tuple[str, ...] = ()
    """Outputs that already exist at the sink (a run without force refuses them)."""
    network: bool = False
    """The guest had the host's network."""
    to_scratch: bool = True
    """The rows went to a scratch folder (replaced each run), not a sink a person named."""

    def with_origin(self, origin: str) -> TryResult:
        return replace(self, origin=origin)

    @property
    def ok(self) -> bool:
        return self.failure is None and not self.failed_files and not self.cancelled

    @property
    def written(self) -> int:
        return sum(o.written for o in self.outputs)

    @property
    def quarantined(self) -> int:
        return sum(o.quarantined for o in self.outputs)


def find_parser_file(folder: Path) -> Path:
    """The parser file of a folder: ``parser.py``, else its only ``.py`` file."""
    folder = folder.expanduser()
    if folder.is_file():
        return folder
    if not folder.is_dir():
        raise LabError(f"{folder}: no such parser folder")
    if (folder / "parser.py").is_file():
        return folder / "parser.py"
    candidates = sorted(p for p in folder.glob("*.py") if p.is_file())
    if len(candidates) != 1:
        raise LabError(
            f"{folder}: no parser.py, and {len(candidates)} other .py files; name the file"
        )
    return candidates[0]


def try_dir(workspace: Workspace, parser_name: str) -> Path:
    """The scratch folder a try of ``parser_name`` writes into."""
    return workspace.home / "lab" / parser_name / "try"


def try_parser(
    workspace: Workspace,
    folder: Path,
    samples: list[Path],
    scratch: Path | None = None,
    cancel: threading.Event | None = None,
    options: SampleRunOptions | None = None,
) -> TryResult:
    """Run the folder's parser on the samples (dev executor: guest, validation, quarantine)
    into ``scratch`` (default: the lab's try folder), which is replaced, or into
    ``options.sink`` (left as it is: an existing output there is refused unless
    ``options.force``). ``cancel`` stops the guest; the result then says so and nothing is
    kept."""
    options = options or SampleRunOptions()
    parser_file = find_parser_file(folder)
    files = [p.resolve() for p in expand_samples(samples)]
    scratch = scratch or try_dir(workspace, parser_file.parent.name or "draft")
    if options.sink is None:
        if scratch.exists():
            shutil.rmtree(scratch)
        scratch.mkdir(parents=True)
    summary = workspace.parsers.run(
        parser_file,
        files,
        sink=options.sink or f"parquet://{scratch}",
        force=options.force or options.sink is None,
        whatif=options.whatif,
        keep_going=True,
        cancel=cancel,
        allow_network=options.allow_network,
    )
    # Rows are read back (first rows, quarantine reasons) only from the scratch folder.
    readable = scratch if options.sink is None and not options.whatif else None
    result = _result(parser_file.parent, files, summary, readable)
    return replace(
        result,
        sink=summary.sink_uri,
        whatif=summary.whatif,
        targets=tuple(sorted(summary.targets.items())),
        existing_outputs=summary.existing_outputs,
        network=options.allow_network,
        to_scratch=options.sink is None,
    )


def try_registered(
    workspace: Workspace,
    name: str,
    samples: list[Path],
    cancel: threading.Event | None = None,
    options: SampleRunOptions | None = None,
) -> TryResult:
    """Dev-run the registered parser ``name`` on sample files, as ``casparian run`` does (its
    source folder while that exists, else its verified bundle: ``ws.parsers.dev_entry``), into
    ``<home>/dev-output/samples/<name>`` (replaced on each run; production outputs untouched)
    or the ``options``' sink. At most ``MAX_SAMPLE_FILES`` samples: a larger pick is refused,
    not cut."""
    if not samples:
        raise LabError(f"no sample files chosen for a dev run of {name}")
    if len(samples) > MAX_SAMPLE_FILES:
        raise LabError(
            f"{len(samples):,} sample files chosen for {name}; a dev run takes at most "
            f"{MAX_SAMPLE_FILES}"
        )
    entry, origin = workspace.parsers.dev_entry(name)
    scratch = samples_scratch(workspace, name)
    return try_parser(workspace, entry, samples, scratch, cancel, options).with_origin(origin)


def samples_scratch(workspace: Workspace, name: str) -> Path:
    """The folder a dev run of ``name`` on sample files writes into without a sink."""
    return workspace.home / "dev-output" / "samples" / name


def _result(
    folder: Path, files: list[Path], summary: RunSummary, scratch: Path | None
) -> TryResult:
    failure = None
    # A stop that lands while the guest is still loading the parser ends as a 'Cancelled'
    # failure; either way the run was stopped, and that is what the result says.
    stopped = summary.cancelled or (
        summary.failure is not None and summary.failure.kind == "Cancelled"
    )
    if summary.failure is not None and not stopped:
        where = f"{summary.failure.path}: " if summary.failure.path else ""
        failure = f"{summary.failure.kind}: {where}{summary.failure.message}"
    failed = tuple(f"{f.kind}: {f.message}" for f in summary.failed_files)
    outputs = []
    for name, counts in sorted(summary.outputs.items()):
        columns: tuple[tuple[str, str], ...] = ()
        preview: tuple[tuple[Any, ...], ...] = ()
        reasons: tuple[Reason, ...] = ()
        if scratch is not None:
            columns, preview = _preview(scratch / name)
            reasons = _reasons(scratch / f"{name}__quarantine") if counts.quarantined else ()
        elif name in summary.schemas:
            columns = tuple((f.name, str(f.type)) for f in summary.schemas[name])
        outputs.append(
            OutputTry(name, counts.written, counts.quarantined, reasons, columns, preview)
        )
    return TryResult(
        folder.resolve(),
        tuple(files),
        tuple(outputs),
        failure,
        failed,
        summary.seconds,
        cancelled=stopped,
    )


def _read(directory: Path, rows: int) -> Any:
    import pyarrow.dataset as ds

    if not directory.is_dir() or not any(directory.glob("*.parquet")):
        return None
    return ds.dataset(str(directory), format="parquet").head(rows)


def _preview(directory: Path) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[Any, ...], ...]]:
    table = _read(directory, PREVIEW_ROWS)
    if table is None:
        return (), ()
    # Lineage columns (source hash, job, parser version) are the same on every row of a try.
    table = table.select([n for n in table.column_names if n == ROW or not n.startswith("_cf_")])
    columns = tuple((f.name, str(f.type)) for f in table.schema)
    values = [column.to_pylist() for column in table.columns]
    return columns, tuple(tuple(row) for row in zip(*values, strict=True))


def _reasons(directory: Path) -> tuple[Reason, ...]:
    table = _read(directory, FIRST_REASONS)
    if table is None:
        return ()
    reasons = []
    for row in table.to_pylist():
        try:
            violations = json.loads(row.get("violations") or "[]")
        except ValueError:
            violations = []
        text = "; ".join(
            f"{v['column']}: {v.get('reason', '')}" if v.get("column") else str(v.get("reason", ""))
            for v in violations
        )
        reasons.append(Reason(row.get("_cf_row"), row.get("rules") or "", text))
    return tuple(reasons)
