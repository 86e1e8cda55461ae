"""``Workspace``: the one facade that the CLI, the TUI, the MCP server and the AI tools call.

A workspace is a Casparian home directory: its settings (``config.toml``), its state store and its
outputs. Each capability is written once, in the engine, and exposed here as a method.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from .config import Config, load_config
from .store import Store


class Workspace:
    """An open home: config + store. Use as a context manager or call ``close()``."""

    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store

    @classmethod
    def open(cls, home: str | os.PathLike[str] | None = None) -> Workspace:
        """Open (creating if needed) the home directory and migrate its store."""
        config = load_config(home)
        config.home.mkdir(parents=True, exist_ok=True)
        return cls(config, Store(config.store_url))

    @property
    def home(self) -> Path:
        return self.config.home

    def close(self) -> None:
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
