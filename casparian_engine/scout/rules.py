"""Gitignore-style path matching for scan patterns and tag rules (via ``pathspec``).

Paths are matched relative to the scanned root, with ``/`` separators: ``*.csv`` matches at any
depth, ``invoices/*.csv`` only directly under ``invoices`` at the top, ``!`` negates, and the last
matching pattern wins — exactly as in a ``.gitignore``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pathspec

from ..store.tags import TagRule


class PatternError(ValueError):
    """A pattern is not valid gitignore syntax; the message names it."""


def compile_patterns(patterns: Iterable[str]) -> pathspec.GitIgnoreSpec:
    """One spec from several gitignore-style lines; raises ``PatternError`` naming a bad one."""
    lines = list(patterns)
    for line in lines:
        try:
            pathspec.GitIgnoreSpec.from_lines([line])
        except Exception as exc:  # noqa: BLE001 - pathspec raises several types
            raise PatternError(f"invalid pattern {line!r}: {exc}") from exc
    return pathspec.GitIgnoreSpec.from_lines(lines)


class PathMatcher:
    """Selects the files a scan records: a file is kept when the patterns match it."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = tuple(patterns)
        self._spec = compile_patterns(self.patterns)

    def matches(self, rel_path: str) -> bool:
        """Whether ``rel_path`` (relative to the scan root) matches the patterns."""
        return bool(self._spec.match_file(rel_path))


class RuleSet:
    """Tag rules in evaluation order; the first (highest-priority) matching rule tags the file."""

    def __init__(self, rules: Iterable[TagRule]) -> None:
        ordered = sorted(rules, key=lambda rule: (-rule.priority, rule.id))
        self._compiled = [(rule, compile_patterns([rule.pattern])) for rule in ordered]

    def __bool__(self) -> bool:
        return bool(self._compiled)

    def first_match(self, rel_path: str) -> TagRule | None:
        """The highest-priority rule whose pattern matches ``rel_path``, if any."""
        for rule, spec in self._compiled:
            if spec.match_file(rel_path):
                return rule
        return None

    def first_matches(self, rel_paths: Sequence[str]) -> list[TagRule | None]:
        """The first matching rule of each path: each rule is matched once against the batch."""
        found: list[TagRule | None] = [None] * len(rel_paths)
        remaining = dict.fromkeys(range(len(rel_paths)))
        for rule, spec in self._compiled:
            if not remaining:
                break
            indices = list(remaining)
            matched = set(spec.match_files([rel_paths[i] for i in indices]))
            for index in indices:
                if rel_paths[index] in matched:
                    found[index] = rule
                    del remaining[index]
        return found
