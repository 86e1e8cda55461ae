"""``ws.files``: the inventory — scan, list, count, tags and tag rules, previews."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ._group import Group

if TYPE_CHECKING:
    import threading

    from ..events import EventSink
    from ..parsers.preview import FilePreview
    from ..scout.listing import FileListing, ListingFilter
    from ..scout.scan import ScanSummary
    from ..scout.tagging import TagSuggestion
    from ..source_lines import SourceLine
    from ..store.files import FileRecord, FileStats
    from ..store.tags import TagRule

FileRefs = list[str | int] | tuple[str | int, ...]
"""Files named by id, by path, or by a folder (every file under it)."""


class Files(Group):
    """Scanned files: the inventory, its tags and tag rules."""

    def scan(
        self,
        root: str | os.PathLike[str],
        patterns: tuple[str, ...] | list[str] = (),
        tags: tuple[str, ...] | list[str] = (),
        on_event: EventSink | None = None,
        cancel: threading.Event | None = None,
    ) -> ScanSummary:
        """Scan a folder into the inventory (raises ``ScanRootError`` if the root is unusable)."""
        from ..events import ignore_events
        from ..scout.scan import Scanner
        from ..scout.tagging import validate_tag

        for tag in tags:
            validate_tag(tag)
        scanner = Scanner(self._store, root, patterns, tags, on_event or ignore_events, cancel)
        return scanner.run()

    def page(
        self,
        filter_text: str,
        limit: int = 100,
        offset: int = 0,
        should_stop: Callable[[], bool] | None = None,
    ) -> FileListing:
        """Discover's page of live files a gitignore-style filter selects, in path order, with
        each file's depth and the total (see ``scout.listing``); ``should_stop`` cuts it short."""
        from ..scout.listing import list_files_page

        return list_files_page(self._store, filter_text, limit, offset, should_stop)

    def count(
        self,
        tag: str | None = None,
        untagged: bool = False,
        pattern: str | None = None,
        include_deleted: bool = False,
    ) -> int:
        """How many files ``list`` would page through with the same filters."""
        from ..store.files import FileFilter

        return self._store.files.count(FileFilter(tag, untagged, pattern, include_deleted))

    def read_filter(self, filter_text: str) -> ListingFilter:
        """A Discover filter read (its path patterns and ``tag:`` terms); ``FilterError`` (a
        ``CasparianError``) for one ``page`` cannot read (an unfinished ``\\``, a lone ``!``,
        ``tag:`` naming no tag)."""
        from ..scout.listing import compile_filter

        return compile_filter(filter_text)

    def stats(self) -> FileStats:
        """Inventory totals for the Home card: files, sources, tagged/untagged."""
        return self._store.files.stats()

    def source_roots(self) -> list[str]:
        """The root folder of every scanned source."""
        return list(self._store.files.source_roots().values())

    def preview(self, path: str | os.PathLike[str], rows: int = 10) -> FilePreview:
        """Detected format and dialect, a schema guess and the first rows (hex for binary)."""
        from ..parsers.preview import preview_file

        return preview_file(Path(path), rows)

    def source_line(self, path: str | os.PathLike[str], line_number: int) -> SourceLine:
        """Line ``line_number`` of a source file (``SourceLineError`` if it moved or shrank)."""
        from ..source_lines import read_source_line

        return read_source_line(path, line_number)

    # --- Tags ---
    def check_tag(self, tag: str) -> str:
        """The tag if usable; ``TaggingError`` (a ``CasparianError``) naming it otherwise."""
        from ..scout.tagging import validate_tag

        return validate_tag(tag)

    def tag(self, paths_or_ids: FileRefs, tag: str) -> int:
        """Tag files (ids, file paths or folders) by hand; returns the number of files tagged."""
        from ..scout.tagging import tag_files

        return tag_files(self._store, paths_or_ids, tag)

    def untag(self, paths_or_ids: FileRefs, tag: str) -> int:
        """Remove a tag from files; returns how many files lost it."""
        from ..scout.tagging import untag_files

        return untag_files(self._store, paths_or_ids, tag)

    def tag_counts(self) -> list[tuple[str, int]]:
        """Every tag on a live file with its file count."""
        return self._store.tags.counts()

    def add_tag_rule(self, glob: str, tag: str, priority: int = 0) -> TagRule:
        """Add a gitignore-style tag rule and re-apply the rules to the inventory."""
        from ..scout.tagging import add_tag_rule

        return add_tag_rule(self._store, glob, tag, priority)

    def tag_rules(self) -> list[TagRule]:
        """Tag rules, highest priority first."""
        return self._store.tags.list_rules()

    def remove_tag_rule(self, rule_id: int) -> TagRule:
        """Delete a tag rule (and the tags it assigned); returns the removed rule."""
        from ..scout.tagging import remove_tag_rule

        return remove_tag_rule(self._store, rule_id)

    def suggest_tags(self, limit: int = 5) -> list[TagSuggestion]:
        """Groups of untagged files (same folder + extension) with a proposed tag, largest first."""
        from ..scout.tagging import suggest_tags

        return suggest_tags(self._store, limit)

    def accept_suggestion(self, suggestion: TagSuggestion, tag: str | None = None) -> int:
        """Tag the files of a suggestion; returns how many were tagged."""
        from ..scout.tagging import accept_suggestion

        return accept_suggestion(self._store, suggestion, tag)

    def list(
        self,
        tag: str | None = None,
        untagged: bool = False,
        pattern: str | None = None,
        limit: int = 100,
        offset: int = 0,
        order: str = "path",
        include_deleted: bool = False,
    ) -> list[FileRecord]:
        """One page of the inventory; ``untagged`` ignores automatic ``kind:`` tags."""
        from ..store.files import FileFilter

        file_filter = FileFilter(tag, untagged, pattern, include_deleted)
        return self._store.files.page(file_filter, limit=limit, offset=offset, order=order)
