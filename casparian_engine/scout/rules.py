"""Scan patterns and tag rules, read by ``PathPatterns`` (``casparian_engine.patterns``).

Paths are matched relative to the scanned root, with ``/`` separators: ``*.csv`` matches at any
depth, ``invoices/*.csv`` only directly under ``invoices`` at the top, ``!`` negates, and the last
matching pattern decides — the same language as scopes, parser patterns and Discover's filter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from ..patterns import PathPatterns, PatternError
from ..store.tags import TagRule

__all__ = ["PathMatcher", "PatternError", "RuleSet", "compile_patterns"]


def compile_patterns(patterns: Iterable[str]) -> PathPatterns:
    """The patterns, read; raises ``PatternError`` naming a bad one."""
    return PathPatterns(patterns)


class PathMatcher:
    """Selects the files a scan records: a file is kept when the patterns select it."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = tuple(patterns)
        self._spec = PathPatterns(self.patterns)

    def matches(self, rel_path: str) -> bool:
        """Whether ``rel_path`` (relative to the scan root) matches the patterns."""
        return self._spec.matches(rel_path)


class RuleSet:
    """Tag rules in evaluation order; the first (highest-priority) matching rule tags the file."""

    def __init__(self, rules: Iterable[TagRule]) -> None:
        ordered = sorted(rules, key=lambda rule: (-rule.priority, rule.id))
        self._compiled = [(rule, PathPatterns([rule.pattern])) for rule in ordered]

    def __bool__(self) -> bool:
        return bool(self._compiled)

    def first_match(self, rel_path: str) -> TagRule | None:
        """The highest-priority rule whose pattern matches ``rel_path``, if any."""
        for rule, spec in self._compiled:
            if spec.matches(rel_path):
                return rule
        return None

    def first_matches(self, rel_paths: Sequence[str]) -> list[TagRule | None]:
        """The first matching rule of each path: each rule is matched once, in Arrow, against
        the paths no earlier rule took."""
        found: list[TagRule | None] = [None] * len(rel_paths)
        paths = pa.array(list(rel_paths), pa.string())
        open_rows = pa.array(range(len(rel_paths)), pa.int64())
        for rule, spec in self._compiled:
            if not len(open_rows):
                break
            hits = spec.mask(pc.take(paths, open_rows))
            for index in pc.filter(open_rows, hits).to_pylist():
                found[index] = rule
            open_rows = pc.filter(open_rows, pc.invert(hits))
        return found
