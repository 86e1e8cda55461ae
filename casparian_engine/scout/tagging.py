"""Tagging by hand, by rule and by suggestion, on top of the file and tag repositories.

Rule semantics: every live file carries at most one rule tag — from the highest-priority rule whose
gitignore-style pattern matches its path relative to its source root (ties: the oldest rule).
Adding or removing a rule re-evaluates every file, so rule tags always reflect the current rules.
Manual tags are never touched by rules; ``kind:...`` tags are reserved for the scanner.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import CasparianError
from ..patterns import relative_path
from ..store import Store
from ..store.tags import TagRule
from .classify import KIND_TAG_PREFIX
from .rules import PatternError, RuleSet, compile_patterns
from .walk import display_path

RULE_PAGE_SIZE = 5000
_TAG_TEXT = re.compile(r"^[^\s,]{1,100}$")


class TaggingError(CasparianError, ValueError):
    """A tag, rule or path given by the user cannot be used; the message names it."""


@dataclass(frozen=True)
class TagSuggestion:
    """An engine-computed proposal to tag a group of untagged files sharing folder + extension."""

    folder: str
    parent: str
    ext: str
    file_count: int
    suggested_tag: str
    text: str


def validate_tag(tag: str) -> str:
    """The tag if usable; raises ``TaggingError`` naming it otherwise."""
    if not _TAG_TEXT.match(tag):
        raise TaggingError(f"invalid tag {tag!r}: use 1-100 characters without spaces or commas")
    if tag.startswith(KIND_TAG_PREFIX):
        raise TaggingError(
            f"invalid tag {tag!r}: the 'kind:' prefix is reserved for automatic tags"
        )
    return tag


def resolve_file_ids(
    store: Store, paths_or_ids: Iterable[str | int | os.PathLike[str]]
) -> list[int]:
    """File ids for ids, file paths or folder paths (all files below); unknown ones raise."""
    wanted: list[int] = []
    numeric: list[int] = []
    missing: list[str] = []
    for item in paths_or_ids:
        if isinstance(item, int):
            numeric.append(item)
            continue
        path = display_path(os.path.abspath(os.fspath(item)))[0]
        ids = store.files.ids_under(path)
        if not ids:
            missing.append(path)
        wanted.extend(ids)
    known = store.files.existing_ids(numeric)
    missing.extend(f"file id {file_id}" for file_id in numeric if file_id not in known)
    if missing:
        raise TaggingError(
            "not in the inventory (scan its folder first): " + ", ".join(missing[:10])
            + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        )  # fmt: skip
    return sorted(set(wanted) | set(numeric))


def tag_files(store: Store, paths_or_ids: Iterable[str | int | os.PathLike[str]], tag: str) -> int:
    """Tag files by hand; returns how many files now carry the tag (all or nothing)."""
    validate_tag(tag)
    ids = resolve_file_ids(store, paths_or_ids)
    with store.db.transaction():
        store.tags.add_manual(ids, tag, time.time())
        store.audit.record("files.tagged", tag, file_count=len(ids))
    return len(ids)


def untag_files(
    store: Store, paths_or_ids: Iterable[str | int | os.PathLike[str]], tag: str
) -> int:
    """Remove a tag (of any origin) from files; returns how many files lost it."""
    ids = resolve_file_ids(store, paths_or_ids)
    with store.db.transaction():
        removed = store.tags.remove(ids, tag)
        store.audit.record("files.untagged", tag, file_count=removed)
    return removed


def apply_tag_rules(store: Store) -> int:
    """Re-evaluate the rules over every live file; returns how many files got a rule tag."""
    rules = RuleSet(store.tags.list_rules())
    tagged = 0
    now = time.time()
    with store.db.transaction():
        store.tags.clear_rule_tags()
        after_id = 0
        while rules and (page := store.files.live_page(after_id, RULE_PAGE_SIZE)):
            after_id = page[-1][0]
            matches = rules.first_matches([relative_path(path, root) for _, path, root in page])
            rows = [
                (row[0], rule.tag, rule.id)
                for row, rule in zip(page, matches, strict=True)
                if rule is not None
            ]
            store.tags.add_rule_tags(rows, now)
            tagged += len(rows)
    return tagged


def add_tag_rule(store: Store, pattern: str, tag: str, priority: int = 0) -> TagRule:
    """Store a rule (or update its priority) and re-apply all rules."""
    validate_tag(tag)
    if not pattern.strip():
        raise TaggingError("invalid rule pattern '': give a gitignore-style glob such as '*.csv'")
    try:
        if not compile_patterns([pattern]):
            raise PatternError(f"cannot read pattern {pattern!r}: a comment selects no file")
    except PatternError as exc:
        raise TaggingError(str(exc)) from exc
    with store.db.transaction():
        rule = store.tags.add_rule(pattern, tag, priority, time.time())
        store.audit.record("tag_rule.added", tag, pattern=pattern, priority=priority, id=rule.id)
        apply_tag_rules(store)
    return rule


def remove_tag_rule(store: Store, rule_id: int) -> TagRule:
    """Delete a rule and re-apply the others; raises ``TaggingError`` for an unknown id."""
    with store.db.transaction():
        rule = store.tags.remove_rule(rule_id)
        if rule is None:
            raise TaggingError(f"no tag rule with id {rule_id} (see `casparian tag rule list`)")
        store.audit.record("tag_rule.removed", rule.tag, pattern=rule.pattern, id=rule.id)
        apply_tag_rules(store)
    return rule


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def suggest_tags(store: Store, limit: int = 5) -> list[TagSuggestion]:
    """Largest groups of untagged files sharing a folder and an extension, with a tag for each."""
    suggestions: list[TagSuggestion] = []
    for group in store.files.untagged_groups(limit):
        root = (group.source_root or "").rstrip("/")
        rel_folder = group.parent[len(root) + 1 :] if group.parent.startswith(root + "/") else ""
        folder = (rel_folder or os.path.basename(group.parent) or group.parent) + "/"
        tag = _slug(os.path.basename(group.parent)) or _slug(group.ext) or "files"
        noun = f"{group.ext} files" if group.ext else "files without extension"
        text = f"Tag {group.file_count} {noun} in {folder} as '{tag}'?"
        suggestions.append(
            TagSuggestion(folder, group.parent, group.ext, group.file_count, tag, text)
        )
    return suggestions


def accept_suggestion(store: Store, suggestion: TagSuggestion, tag: str | None = None) -> int:
    """Tag the suggested group (with ``tag`` or the suggested one); returns the file count."""
    chosen = validate_tag(tag or suggestion.suggested_tag)
    ids = store.files.ids_in_group(suggestion.parent, suggestion.ext)
    with store.db.transaction():
        store.tags.add_manual(ids, chosen, time.time())
        store.audit.record("files.tagged", chosen, file_count=len(ids), folder=suggestion.parent)
    return len(ids)
