"""Words for counts in messages, shared by engine, CLI and TUI: ``1 file``, ``3 files``."""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """``word`` for a count of one, else its plural (``many`` or ``word + 's'``)."""
    if count == 1:
        return word
    return many if many is not None else word + "s"


def counted(count: int, word: str, many: str | None = None) -> str:
    """A count with its noun, pluralised: ``1 row``, ``3 rows``, ``1,000 files``."""
    return f"{count:,} {plural(count, word, many)}"
