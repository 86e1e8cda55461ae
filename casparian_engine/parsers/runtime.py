"""What running a registered parser needs from a home: its record, its verified bundle and its
locked environment — for the facade (``Workspace``) and the runner alike, from a store and the
home's config (the runner never needs the facade)."""

from __future__ import annotations

from pathlib import Path

from ..config import Config
from ..envs import EnvManager
from ..store import Store
from ..store.parsers import ParserRecord


class ParserRuntime:
    """Registered parsers of one home, ready to run."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config

    def record(self, name: str, version: str | None = None) -> ParserRecord | None:
        """One registered version (the highest when ``version`` is None)."""
        return self.store.parsers.get(name, version)

    def load_bundle(self, name: str, version: str | None = None) -> Path:
        """Verify a registered bundle's SHA-256 and extract it; returns its source folder."""
        from .registration import load_bundle

        return load_bundle(self.store, self.config.home / "bundles", name, version)

    @property
    def envs(self) -> EnvManager:
        """The manager of parser environments under this home."""
        return EnvManager(self.config.venvs_dir, self.config.wheelhouse_dir)

    def environment_for(self, record: ParserRecord, offline: bool = False) -> Path:
        """The Python interpreter of a registered parser's environment, built if needed."""
        source_dir = self.load_bundle(record.name, record.version)
        return self.envs.ensure(source_dir, offline=offline).python
