"""A scanned file's facts as a person reads them: local ISO dates, sizes with units, tag lists."""

from __future__ import annotations

from datetime import datetime
from typing import Any

# Kinds the scan and the preview name differently but mean the same way of reading the file.
SAME_KIND = {("csv", "tsv")}


def human_size(size: int) -> str:
    """Bytes as a short figure: 16 B, 1.2 KB, 3.4 MB."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def local_time(epoch_seconds: float) -> str:
    """A timestamp in local time, ISO with its UTC offset: 2023-01-02 23:59:30+00:00."""
    moment = datetime.fromtimestamp(epoch_seconds).astimezone()
    return moment.isoformat(sep=" ", timespec="seconds")


def kind_text(scan_kind: str | None, preview_format: str | None) -> str:
    """The file's kind; when the scan's guess and the preview's detection differ, both, named."""
    if preview_format is None or scan_kind == preview_format:
        return scan_kind or "unknown"
    if scan_kind is None:
        return preview_format
    if (scan_kind, preview_format) in SAME_KIND:
        return preview_format
    return f"{scan_kind} (from the scan) · {preview_format} (from the preview)"


def file_facts(
    record: Any, preview_format: str | None = None, preview_error: str = ""
) -> dict[str, str]:
    """The details dialog's label → value lines for one ``FileRecord``, empty fields left out."""
    size = human_size(record.size)
    if record.size >= 1024:
        size += f" ({record.size:,} bytes)"
    facts = {
        "path": record.path,
        "size": size,
        "modified": local_time(record.mtime_ns / 1e9),
        "kind": kind_text(record.kind, preview_format),
        "tags": ", ".join(record.tags),
        "sha256": record.sha256 or "",
        "first seen": local_time(record.first_seen),
        "last seen": local_time(record.last_seen),
        "deleted": local_time(record.deleted_at) if record.deleted_at is not None else "",
        "preview": preview_error,
        "file id": str(record.id),
    }
    return {label: value for label, value in facts.items() if value}
