"""One registered parser in full: its version and record, and each output's contract beside the
approved version the runs validate against; and which copy of it a dev run uses.

The contracts are read from the verified bundle (what production runs), so the view says exactly
what a prod run would apply: the approved version when the bundle's file equals it, and a
difference (with the diff) or a missing approval otherwise — the same ``resolve_contracts`` the
worker uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import CasparianError

if TYPE_CHECKING:
    from .parsers.runtime import ParserRuntime
    from .runner.contracts_seam import ContractChoice
    from .store import Store
    from .store.parsers import ParserRecord


class ParserDetailsError(CasparianError, ValueError):
    """A parser's details or dev run cannot be had: the message names the parser and why."""


@dataclass(frozen=True)
class ParserDetails:
    """A registered parser version and the contracts its outputs are validated against."""

    record: ParserRecord
    contracts: tuple[ContractChoice, ...]
    contract_problem: str = ""
    """Why the bundle's contracts could not be read ('' when they were)."""

    @property
    def source_exists(self) -> bool:
        """Whether the folder it was registered from is still on disk (a dev run uses it)."""
        return bool(self.record.source_path) and Path(self.record.source_path or "").exists()


def bundle_entry(runtime: ParserRuntime, name: str, version: str | None = None) -> Path:
    """The parser file inside a registered version's verified, extracted bundle."""
    from .parsers.bundle import collect_source, read_metadata

    source_dir = runtime.load_bundle(name, version)
    return source_dir / read_metadata(collect_source(source_dir)[0]).entry_file


def parser_details(store: Store, runtime: ParserRuntime, name: str) -> ParserDetails:
    """The current version of ``name`` with each output's contract as a prod run resolves it."""
    from .runner.contracts_seam import resolve_contracts
    from .runner.executor import ExecutionError

    record = store.parsers.get(name)
    if record is None:
        raise ParserDetailsError(f"no parser '{name}' is registered")
    try:
        entry = bundle_entry(runtime, record.name, record.version)
        choices = resolve_contracts(entry.parent, record.outputs, store.contracts.latest)
    except (ExecutionError, ValueError) as exc:
        return ParserDetails(record, (), str(exc))
    return ParserDetails(record, tuple(choices.values()))


def dev_entry(runtime: ParserRuntime, record: ParserRecord) -> tuple[Path, str]:
    """The parser file a dev run uses and where it comes from: the folder it was registered from
    while that exists (a dev run tries the edits made since), else the registered bundle."""
    from .parsers.bundle import BundleError, parser_dir_of

    source = record.source_path
    entry_name = str(record.gatekeeper.get("entry") or "")
    if source and entry_name and not source.lower().endswith(".zip"):
        try:
            folder = parser_dir_of(Path(source))
        except BundleError:
            folder = None
        if folder is not None and (folder / entry_name).is_file():
            return folder / entry_name, f"source folder {folder}"
    return bundle_entry(runtime, record.name, record.version), "registered bundle"
