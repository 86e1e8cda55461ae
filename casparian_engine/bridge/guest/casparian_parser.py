"""The tiny authoring module a parser imports: ``Parser``, ``Output`` and ``TransientError``.

It ships beside the guest shim and is importable in the parser's own environment without installing
Casparian. It imports only the standard library.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = ["Parser", "Output", "TransientError"]


class TransientError(Exception):
    """Raise this when a retry may succeed (a network share was down, a lock was held)."""


class Output:
    """One item for a named output: ``yield Output("lines", table)``."""

    __slots__ = ("name", "data")

    def __init__(self, name: str, data: Any) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"Output name must be a non-empty string, got {name!r}")
        self.name = name
        self.data = data

    def __repr__(self) -> str:
        return f"Output({self.name!r}, <{type(self.data).__name__}>)"


class Parser:
    """Base class of a Level 2 parser: set the attributes and implement ``parse``."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = "0.0.0"
    tags: ClassVar[list[str]] = []
    patterns: ClassVar[list[str]] = []
    # output name -> contract file (relative to the parser file) or None
    outputs: ClassVar[dict[str, str | None]] = {}

    def parse(self, path: str) -> Any:
        """Return or yield pyarrow Tables/RecordBatches, DataFrames or ``Output`` items."""
        raise NotImplementedError(f"{type(self).__name__}.parse(path) is not implemented")
