"""``Workspace``: the one facade that the CLI, the TUI, the MCP server and the AI tools call.

A workspace is a Casparian home directory: its settings (``config.toml``), its state store and its
outputs. Each capability is written once, in the engine, and reached through one group of the
facade:

- ``ws.files``: scan, list, count, tag, tag rules, previews (``files.py``)
- ``ws.parsers``: register, read, export, environments, health, dev runs, backtests
- ``ws.jobs``: the queue — enqueue, process, retry, cancel, dead letters; the daemon, worker hosts
- ``ws.contracts``: discover, propose, approve, read schema contracts
- ``ws.outputs``: output tables, the inspector, the SQL catalog, anomalies, backfill
- ``ws.quarantine``: quarantined rows — list, count, replay
- ``ws.audit``: the audit trail — entries, record, evidence export and its check
- ``ws.scopes``: saved scopes — save, read, resolve, execute

``ws.needs_attention()`` (the Home screen's summary), ``ws.home`` and ``ws.config`` stay here.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from ..config import Config, load_config
from ..store import Store, open_store
from ..store.contracts import Approval
from ..store.quarantine import QuarantineFilter
from ..store.scopes import ScopeDefinition, scope_from_arguments
from .audit import Audit
from .contracts import ContractProposal, Contracts, DiscoveryReport
from .files import Files
from .jobs import Jobs, LiveWorkers
from .outputs import Outputs
from .parsers import Parsers
from .quarantine import Quarantine
from .scopes import Scopes

if TYPE_CHECKING:
    from ..attention import Attention

__all__ = [
    "Approval",
    "Audit",
    "ContractProposal",
    "Contracts",
    "DiscoveryReport",
    "Files",
    "Jobs",
    "LiveWorkers",
    "Outputs",
    "Parsers",
    "Quarantine",
    "QuarantineFilter",
    "ScopeDefinition",
    "Scopes",
    "Workspace",
    "scope_from_arguments",
]
"""The facade's vocabulary: faces build these to call it (a quarantine filter, a scope) and take
them from this package, never from the store, runner or scout packages below it."""


class Workspace:
    """An open home: config + store, reached through its groups (``ws.files``, ``ws.jobs``, …).
    Use as a context manager or call ``close()``."""

    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store
        self.files = Files(config, store)
        self.parsers = Parsers(config, store)
        self.jobs = Jobs(config, store)
        self.contracts = Contracts(config, store)
        self.outputs = Outputs(config, store)
        self.quarantine = Quarantine(config, store)
        self.audit = Audit(config, store)
        self.scopes = Scopes(config, store)

    @classmethod
    def open(cls, home: str | os.PathLike[str] | None = None) -> Workspace:
        """Open (creating if needed) the home directory and migrate its store."""
        config = load_config(home)
        config.home.mkdir(parents=True, exist_ok=True)
        return cls(config, open_store(config))

    @classmethod
    def for_config(cls, config: Config) -> Workspace:
        """Open the store a ready config names (a worker host's, with its command's overrides:
        ``--store``, ``--output``); ``StoreError`` when it cannot be reached."""
        return cls(config, open_store(config))

    @property
    def home(self) -> Path:
        return self.config.home

    def needs_attention(self) -> Attention:
        """What waits for a person: unprocessed matched files, failed jobs, quarantined rows,
        paused parsers (the TUI's Home)."""
        from ..attention import needs_attention

        return needs_attention(self.store)

    def close(self) -> None:
        self.outputs.close()
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
