"""What every group of the facade holds: the home's config and its store."""

from __future__ import annotations

from ..config import Config
from ..store import Store


class Group:
    """One group of ``Workspace`` methods (``ws.files``, ``ws.jobs``, …) over one open home."""

    def __init__(self, config: Config, store: Store) -> None:
        self._config = config
        self._store = store
