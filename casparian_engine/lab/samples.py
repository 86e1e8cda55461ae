"""What the lab knows about sample files before drafting: kind, encoding, dialect, first lines.

The kind comes from the scanner's classifier (``scout.classify``), the encoding and dialect from
the contracts package's public sniffing functions (``contracts.discover``), so improvements there
flow into every draft. Only the head of each file is read (``SAMPLE_BYTES``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..contracts.discover import Dialect, DiscoveryError, sniff_encoding, sniff_file
from ..errors import CasparianError
from ..scout.classify import classify

if TYPE_CHECKING:
    from ..workspace import Workspace

SAMPLE_BYTES = 64 * 1024
SAMPLE_LINES = 200
MAX_SAMPLE_FILES = 50
"""At most this many sample files are read (the first ones given); a draft needs a few."""


class LabError(CasparianError, ValueError):
    """The lab cannot draft or try: the message names the file or folder and what to do."""


@dataclass(frozen=True)
class SampleFacts:
    """The sample files as discovery sees them."""

    paths: tuple[Path, ...]
    kind: str
    """The classifier's kind of the first file: csv, jsonl, json, log, text, ..."""
    encoding: str
    dialect: Dialect | None
    """The sniffed dialect when the files read as delimited text, else None."""
    lines: tuple[str, ...]
    """The first non-blank lines of the samples (up to ``SAMPLE_LINES``, each file's in turn)."""

    def describe(self) -> str:
        """One line: the kind and, for a table, the dialect."""
        if self.dialect is not None:
            return f"{self.kind}: {self.dialect.describe()}"
        return f"{self.kind}, encoding {self.encoding}"


def _head(path: Path) -> tuple[bytes, bool]:
    """The first ``SAMPLE_BYTES`` of a file and whether the file goes on past them."""
    try:
        with open(path, "rb") as stream:
            raw = stream.read(SAMPLE_BYTES + 1)
    except OSError as exc:
        raise LabError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    return raw[:SAMPLE_BYTES], len(raw) > SAMPLE_BYTES


def sample_lines(path: Path, encoding: str, limit: int = SAMPLE_LINES) -> list[str]:
    """The first non-blank lines of a file (a line cut by the sample window left out)."""
    raw, truncated = _head(path)
    text = raw.decode(encoding, errors="replace").lstrip("\ufeff")
    lines = text.splitlines()
    if truncated and lines:
        lines.pop()
    return [line for line in lines if line.strip()][:limit]


def expand_samples(paths: list[Path]) -> list[Path]:
    """Files as given and the files inside folders (sorted, hidden ones left out); at most
    ``MAX_SAMPLE_FILES``. A missing path is an error naming it."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            files.append(path)
        else:
            raise LabError(f"{path}: no such file or folder")
    if not files:
        raise LabError(f"no sample files in {', '.join(map(str, paths))}")
    return files[:MAX_SAMPLE_FILES]


def _reads_as_json(raw: bytes, truncated: bool) -> bool:
    """Whether a head classified as JSON is JSON (whole, or pretty-printed and cut by the
    window), rather than lines that merely start with "[" such as ``[Sun Dec 04 …] [notice]``."""
    import json

    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff").strip()
    if not truncated:
        try:
            json.loads(text)
            return True
        except ValueError:
            pass
    first = text.splitlines()[0].strip() if text else ""
    try:
        json.loads(first)
        return True
    except ValueError:
        return first.endswith(("{", "[", ",")) or first in ("{", "[")


def gather_facts(paths: list[Path]) -> SampleFacts:
    """Classify the first sample, sniff its encoding and (for delimited text) its dialect."""
    files = expand_samples(paths)
    first = files[0]
    raw, truncated = _head(first)
    kind = classify(first.suffix.lower(), raw, truncated)
    if kind in ("empty", "binary", "compressed", "parquet"):
        reason = {
            "empty": "is empty",
            "binary": "looks binary",
            "compressed": "is compressed (unpack it first)",
            "parquet": "is Parquet already (query it directly)",
        }[kind]
        raise LabError(f"{first}: {reason}; the lab drafts parsers for text files")
    encoding = sniff_encoding(raw)
    if kind == "json" and not _reads_as_json(raw, truncated):
        kind = "log"  # "[Sun Dec 04 …] [notice] …" starts like JSON and is not
    dialect: Dialect | None = None
    if kind in ("csv", "text", "log"):
        try:
            dialect = sniff_file(first)
        except DiscoveryError:
            dialect = None
        if dialect is not None and kind != "csv" and not dialect.whitespace:
            dialect = None  # a log's commas are prose, not a table
    lines: list[str] = []
    for path in files:
        lines.extend(sample_lines(path, encoding, SAMPLE_LINES - len(lines)))
        if len(lines) >= SAMPLE_LINES:
            break
    return SampleFacts(tuple(files), kind, encoding, dialect, tuple(lines))


def tagged_samples(workspace: Workspace, tag: str, limit: int = MAX_SAMPLE_FILES) -> list[Path]:
    """The live files carrying ``tag`` in the inventory (path order), at most ``limit``, as
    sample files; ``LabError`` naming the tag when it has none."""
    records = workspace.files.list(tag=tag, limit=limit)
    if not records:
        raise LabError(
            f"tag {tag!r}: no files carry it (tag some in Discover or with `casparian tag`)"
        )
    return [Path(record.os_path) for record in records]
