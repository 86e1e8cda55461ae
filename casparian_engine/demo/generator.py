"""Write the demo workspace: messy files in several formats, sample parsers, and a manifest.

Layout: ``DIR/files/`` (the data), ``DIR/parsers/`` (sample parsers), ``DIR/home/`` (the Casparian
home of the demo) and ``DIR/.casparian-demo.json`` (arguments, counts and a content hash). The same
arguments always give byte-identical files with fixed modification times; re-running on a complete
demo only checks the manifest and the file tree.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import CasparianError
from ..events import Event, EventSink, Throttle, check_cancel, ignore_events
from . import content as demo_content
from .content import DemoFile, FileBuilder

GENERATOR_VERSION = 1
MANIFEST_NAME = ".casparian-demo.json"
MIN_FILES = 10
DEFAULT_FILES = 200

# Formats other than the bulk invoices: (name, share of the files, cap). The caps keep
# `--files 50000` what the benchmarks want: almost all of it small CSVs of one schema.
_MINOR_FORMATS = (
    ("sensor_csv", 0.08, 400),
    ("syslog", 0.04, 120),
    ("jsonl", 0.04, 120),
    ("fixed_width", 0.02, 24),
    ("statement_csv", 0.02, 24),
)
ODD_FILE_COUNT = 3

# Sample parsers copied to DIR/parsers/<directory>/: the module and its contract files.
SAMPLE_PARSERS: dict[str, tuple[str, ...]] = {
    "invoices": ("invoices.py", "invoices.contract.yaml"),
    "sensors": ("sensors.py", "sensors.contract.yaml"),
    "legacy_accounts": ("legacy_accounts.py", "legacy_accounts.contract.yaml"),
    "app_events": ("app_events.py", "app_events.contract.yaml"),
    "syslog": ("syslog_lines.py",),
}


class DemoError(CasparianError):
    """The demo directory cannot be (re)written as asked; the message says why and what to do."""


@dataclass(frozen=True)
class DemoProgress(Event):
    """Files written so far out of the total (throttled)."""

    written_files: int
    total_files: int


@dataclass(frozen=True)
class DemoResult:
    """What a demo run produced (or found already complete)."""

    root: Path
    file_count: int
    files_by_format: dict[str, int]
    total_bytes: int
    content_sha256: str
    special_files: dict[str, str]
    reused: bool
    elapsed_s: float
    manifest: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def files_dir(self) -> Path:
        return self.root / "files"

    @property
    def parsers_dir(self) -> Path:
        return self.root / "parsers"

    @property
    def home_dir(self) -> Path:
        return self.root / "home"


def plan_counts(file_count: int) -> dict[str, int]:
    """How many files of each format make up ``file_count`` files (always sums to it)."""
    if file_count < MIN_FILES:
        raise DemoError(f"--files must be at least {MIN_FILES} (got {file_count})")
    rest = file_count - ODD_FILE_COUNT
    counts = {name: max(1, min(cap, round(rest * share))) for name, share, cap in _MINOR_FORMATS}
    return {"invoice_csv": rest - sum(counts.values()), **counts, "odd": ODD_FILE_COUNT}


def read_manifest(root: Path) -> dict[str, Any] | None:
    """The manifest of a demo directory, or None when there is none."""
    path = root / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DemoError(f"{path}: not valid JSON ({exc}); delete it or use --force") from exc
    if not isinstance(manifest, dict):
        raise DemoError(f"{path}: expected a JSON object; delete it or use --force")
    return manifest


def generate_demo(
    root: str | os.PathLike[str],
    file_count: int = DEFAULT_FILES,
    seed: int = 0,
    *,
    force: bool = False,
    on_event: EventSink = ignore_events,
    cancel: threading.Event | None = None,
) -> DemoResult:
    """Write (or reuse) the demo workspace at ``root``; refuses to replace a different one."""
    started = time.perf_counter()
    root_dir = Path(root).expanduser().absolute()
    counts = plan_counts(file_count)
    args = {"files": file_count, "seed": seed}
    try:
        manifest = read_manifest(root_dir)
    except DemoError:
        if not force:
            raise
        manifest = {"unreadable": True}
    if manifest is None:
        _refuse_foreign_directory(root_dir)
    elif (
        not force
        and _is_complete_match(manifest, args)
        and _tree_matches(root_dir / "files", manifest)
    ):
        _write_parsers(root_dir / "parsers", overwrite=False)
        return _result(root_dir, manifest, reused=True, started=started)
    elif manifest.get("complete") is True and manifest.get("args") != args and not force:
        old = manifest.get("args") or {}
        raise DemoError(
            f"{root_dir} already holds a demo made with --files {old.get('files')} "
            f"--seed {old.get('seed')}; run again with those arguments to reuse it, or add "
            f"--force to replace its files with --files {file_count} --seed {seed}"
        )
    files_dir = root_dir / "files"
    if files_dir.exists():
        shutil.rmtree(files_dir)
    pending = {"generator": "casparian-demo", "generator_version": GENERATOR_VERSION}
    pending |= {"args": args, "complete": False}
    root_dir.mkdir(parents=True, exist_ok=True)
    _write_manifest(root_dir, pending)
    special_files: dict[str, str] = {}
    demo_files = _demo_files(seed, counts, special_files)
    written = _write_files(files_dir, demo_files, file_count, on_event, cancel)
    _write_parsers(root_dir / "parsers", overwrite=force)
    (root_dir / "home").mkdir(exist_ok=True)
    final = pending | {"complete": True, "files_by_format": counts, **written}
    final["special_files"] = special_files
    _write_manifest(root_dir, final)
    return _result(root_dir, final, reused=False, started=started)


def mark_home_prepared(result: DemoResult) -> None:
    """Record in the manifest that the demo home has its tag rules and first scan."""
    _write_manifest(result.root, result.manifest | {"home_prepared": True})


def _result(root: Path, manifest: dict[str, Any], *, reused: bool, started: float) -> DemoResult:
    return DemoResult(
        root=root,
        file_count=int(manifest["file_count"]),
        files_by_format=dict(manifest["files_by_format"]),
        total_bytes=int(manifest["total_bytes"]),
        content_sha256=str(manifest["content_sha256"]),
        special_files=dict(manifest["special_files"]),
        reused=reused,
        elapsed_s=time.perf_counter() - started,
        manifest=manifest,
    )


def _refuse_foreign_directory(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise DemoError(f"{root} exists and is not a directory")
    if root.is_dir() and any(root.iterdir()):
        raise DemoError(
            f"{root} is not empty and is not a Casparian demo (no {MANIFEST_NAME}); "
            "choose a new or empty directory"
        )


def _is_complete_match(manifest: dict[str, Any], args: dict[str, int]) -> bool:
    return (
        manifest.get("complete") is True
        and manifest.get("args") == args
        and manifest.get("generator_version") == GENERATOR_VERSION
    )


def _tree_matches(files_dir: Path, manifest: dict[str, Any]) -> bool:
    """Cheap completeness check: the same number of files and bytes as the manifest records."""
    file_count = total_bytes = 0
    stack = [str(files_dir)]
    try:
        while stack:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        file_count += 1
                        total_bytes += entry.stat(follow_symlinks=False).st_size
    except FileNotFoundError:
        return False
    return file_count == manifest.get("file_count") and total_bytes == manifest.get("total_bytes")


def _demo_files(
    seed: int, counts: dict[str, int], special_files: dict[str, str]
) -> Iterator[DemoFile]:
    """Every demo file in a fixed order; records where the odd cases went in ``special_files``."""
    builders: list[tuple[str, Callable[[random.Random, int], FileBuilder]]] = [
        ("invoice_csv", demo_content.InvoiceBuilder),
        ("sensor_csv", demo_content.SensorBuilder),
        ("syslog", demo_content.SyslogBuilder),
        ("jsonl", demo_content.EventsBuilder),
        ("fixed_width", demo_content.FixedWidthBuilder),
        ("statement_csv", demo_content.StatementBuilder),
    ]
    invoice_sample = b""
    for format_position, (format_name, builder_class) in enumerate(builders):
        rng = random.Random(f"{seed}:{format_position}:{format_name}")
        builder = builder_class(rng, counts[format_name])
        case_by_index = {index: case for case, index in builder.special_cases().items()}
        for index in range(counts[format_name]):
            demo_file = builder.build(index)
            if not invoice_sample:
                invoice_sample = demo_file.content
            if index in case_by_index:
                special_files[case_by_index[index]] = demo_file.relative_path
            yield demo_file
    for case, demo_file in demo_content.odd_files(random.Random(f"{seed}:odd"), invoice_sample):
        special_files[case] = demo_file.relative_path
        yield demo_file


def _write_files(
    files_dir: Path,
    demo_files: Iterator[DemoFile],
    total_files: int,
    on_event: EventSink,
    cancel: threading.Event | None,
) -> dict[str, Any]:
    """Write every file with its fixed mtime; hash paths and bytes in write order."""
    digest = hashlib.sha256()
    made_dirs: set[str] = set()
    base = str(files_dir)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    utime_by_fd = os.utime in os.supports_fd
    throttle = Throttle()
    file_count = total_bytes = 0
    for demo_file in demo_files:
        if file_count % 256 == 0:
            check_cancel(cancel)
            if throttle.ready():
                on_event(DemoProgress(file_count, total_files))
        directory, _, _ = demo_file.relative_path.rpartition("/")
        if directory not in made_dirs:
            os.makedirs(os.path.join(base, directory), exist_ok=True)
            made_dirs.add(directory)
        path = os.path.join(base, demo_file.relative_path)
        descriptor = os.open(path, flags, 0o644)
        try:
            os.write(descriptor, demo_file.content)
            if utime_by_fd:
                os.utime(descriptor, ns=(demo_file.mtime_ns, demo_file.mtime_ns))
        finally:
            os.close(descriptor)
        if not utime_by_fd:
            os.utime(path, ns=(demo_file.mtime_ns, demo_file.mtime_ns))
        digest.update(demo_file.relative_path.encode() + b"\0")
        digest.update(len(demo_file.content).to_bytes(8, "big") + demo_file.content)
        file_count += 1
        total_bytes += len(demo_file.content)
    on_event(DemoProgress(file_count, total_files))
    if file_count != total_files:
        raise DemoError(f"internal error: planned {total_files} demo files, wrote {file_count}")
    return {
        "file_count": file_count,
        "total_bytes": total_bytes,
        "content_sha256": digest.hexdigest(),
    }


def _write_parsers(parsers_dir: Path, *, overwrite: bool) -> None:
    """Copy the packaged sample parsers, each with a small pyproject; keep a user's edits."""
    source = resources.files("casparian_engine.demo").joinpath("parsers")
    for directory, file_names in SAMPLE_PARSERS.items():
        target = parsers_dir / directory
        target.mkdir(parents=True, exist_ok=True)
        for file_name in file_names:
            path = target / file_name
            if overwrite or not path.exists():
                path.write_bytes(source.joinpath(file_name).read_bytes())
        pyproject = target / "pyproject.toml"
        if overwrite or not pyproject.exists():
            pyproject.write_text(_parser_pyproject(directory), encoding="utf-8")
        if overwrite or not (target / "uv.lock").exists():
            _lock(target)


def _lock(parser_dir: Path) -> None:
    """Write the parser's ``uv.lock`` offline: it pins no third-party package, so no index URL."""
    from ..parsers.project import LockError, lock_parser

    try:
        lock_parser(parser_dir)
    except LockError as exc:
        raise DemoError(str(exc)) from None


def _parser_pyproject(directory: str) -> str:
    from ..parsers.project import parser_pyproject

    return parser_pyproject(f"casparian-demo-{directory.replace('_', '-')}")


def _write_manifest(root: Path, manifest: dict[str, Any]) -> None:
    temporary = root / (MANIFEST_NAME + ".tmp")
    temporary.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, root / MANIFEST_NAME)
