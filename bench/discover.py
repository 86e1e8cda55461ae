"""Dialect, header and preamble accuracy on the annotated corpus, beside Python's csv.Sniffer and
DuckDB's sniff_csv, in one run.

The corpus is ``tests/corpora/dialect/annotations.json``: hand-checked delimiter, quote character
(``""`` when no field is quoted), escape (``""`` for none or quote doubling, ``"\\"`` for a
backslash), header and preamble lines of each file (paths relative to ``tests/corpora``). A
dialect is exact when delimiter, quote and escape all equal the annotation, as the CSV-sniffing
literature scores it. Each tool gets the same files; s/file is the median wall time of one file's
detection (reading the file included; csv.Sniffer is given the same first 64 KiB, decoded with
our encoding guess).

``--wide`` also writes a 300-column, 10 MB file and times ``discover`` on it (sniffing, typing
from the byte budget, the whole-file check) beside DuckDB's ``read_csv`` auto-detection and
pyarrow's typed ``read_csv`` of the same file.

``--startup`` times ``casparian --version`` (a command that needs neither pyarrow nor DuckDB) in
fresh processes beside a bare ``python -c pass``.

``--folder`` copies every annotated file into one folder and times one ``casparian schema
discover FOLDER --json`` process over it (seconds per file, start-up included).

Usage: ``python bench/discover.py [--misses] [--wide] [--startup] [--folder]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

CORPORA = Path(__file__).resolve().parent.parent / "tests" / "corpora"
ANNOTATIONS = CORPORA / "dialect" / "annotations.json"


@dataclass(frozen=True)
class Found:
    delimiter: str
    quote: str
    escape: str
    header: bool
    preamble: int


@dataclass
class Score:
    tool: str
    files: int = 0
    dialect: int = 0
    delimiter: int = 0
    header: int = 0
    preamble: int = 0
    seconds: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def share(self, count: int) -> float:
        return count / self.files if self.files else 0.0


def annotations() -> list[dict[str, object]]:
    entries: list[dict[str, object]] = json.loads(ANNOTATIONS.read_text(encoding="utf-8"))
    return entries


def ours(path: Path) -> Found:
    from casparian_engine.contracts.dialect import sniff_file

    dialect = sniff_file(path)
    return Found(
        dialect.delimiter, dialect.quote, dialect.escape or "", dialect.header,
        dialect.preamble_lines,
    )  # fmt: skip


def python_sniffer(path: Path) -> Found:
    from casparian_engine.contracts.dialect import read_head, sniff_encoding

    raw = read_head(path)
    sample = raw.decode(sniff_encoding(raw), errors="replace")
    sniffer = csv.Sniffer()
    dialect = sniffer.sniff(sample)
    header = sniffer.has_header(sample)
    return Found(dialect.delimiter, dialect.quotechar or "", dialect.escapechar or "", header, 0)


def duckdb_sniffer(path: Path) -> Found:
    import duckdb

    rows = duckdb.execute(
        "SELECT Delimiter, Quote, Escape, HasHeader, SkipRows FROM sniff_csv(?)", [str(path)]
    ).fetchall()
    delimiter, quote, escape, header, skip = rows[0]

    def plain(value: str) -> str:
        return "" if value == "(empty)" else value

    quote, escape = plain(quote), plain(escape)
    if escape == quote:  # DuckDB names the quote itself as the escape of doubled quotes
        escape = ""
    return Found(plain(delimiter), quote, escape, bool(header), int(skip))


def score(tool: str, detect: Callable[[Path], Found], entries: list[dict[str, object]]) -> Score:
    result = Score(tool)
    for entry in entries:
        path = CORPORA / str(entry["file"])
        expected = Found(
            str(entry["delimiter"]), str(entry["quotechar"]), str(entry["escapechar"]),
            bool(entry["header"]), int(str(entry["preamble"])),
        )  # fmt: skip
        started = time.perf_counter()
        try:
            found: Found | None = detect(path)
        except Exception:  # a detector that gives up scores a miss, as in the literature
            found = None
        result.seconds.append(time.perf_counter() - started)
        result.files += 1
        if found is None:
            result.misses.append(f"{entry['file']}: no answer")
            continue
        same_dialect = (found.delimiter, found.quote, found.escape) == (
            expected.delimiter, expected.quote, expected.escape,
        )  # fmt: skip
        result.dialect += same_dialect
        result.delimiter += found.delimiter == expected.delimiter
        result.header += found.header == expected.header
        result.preamble += found.preamble == expected.preamble
        if not same_dialect or found.header != expected.header:
            result.misses.append(f"{entry['file']}: expected {expected}, found {found}")
        elif found.preamble != expected.preamble:
            result.misses.append(f"{entry['file']}: expected {expected}, found {found}")
    return result


def write_wide(path: Path, columns: int = 300, size: int = 10_000_000) -> int:
    """A ``columns``-wide CSV of about ``size`` bytes (ints, floats, dates, words, booleans,
    day-first timestamps); returns its row count."""
    import random

    chooser = random.Random(15)
    kinds = [i % 6 for i in range(columns)]

    def value(kind: int, row: int) -> str:
        if kind == 0:
            return str(row * 7 + chooser.randint(0, 9))
        if kind == 1:
            return f"{chooser.random() * 1000:.3f}"
        if kind == 2:
            return f"2024-{chooser.randint(1, 12):02d}-{chooser.randint(1, 28):02d}"
        if kind == 3:
            return chooser.choice(("alpha", "beta", "gamma", "delta"))
        if kind == 4:
            return chooser.choice(("true", "false"))
        day, month = chooser.randint(1, 28), chooser.randint(1, 12)
        return (
            f"{day:02d}/{month:02d}/2023 {chooser.randint(0, 23):02d}:{chooser.randint(0, 59):02d}"
        )

    rows = 0
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(",".join(f"col_{i}" for i in range(columns)) + "\n")
        while stream.tell() < size:
            stream.write(",".join(value(kind, rows) for kind in kinds) + "\n")
            rows += 1
    return rows


def wide(runs: int = 3) -> None:
    """Best-of-``runs`` wall and CPU seconds of discovering the wide file, beside baselines."""
    import tempfile

    import duckdb
    import pyarrow.csv as pcsv

    from casparian_engine.contracts.discover import discover

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "wide.csv"
        rows = write_wide(path)

        def timed(action: Callable[[], object]) -> tuple[float, float]:
            best = (float("inf"), float("inf"))
            for _ in range(runs):
                wall, cpu = time.perf_counter(), time.process_time()
                action()
                best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
            return best

        size = path.stat().st_size
        print(f"\n300 columns, {rows} rows, {size / 1e6:.1f} MB (best of {runs}):")
        figures = [
            ("casparian discover", timed(lambda: discover([path], "wide"))),
            (
                "duckdb read_csv auto-detect",
                timed(
                    lambda: duckdb.execute(
                        "DESCRIBE SELECT * FROM read_csv(?)", [str(path)]
                    ).fetchall()
                ),
            ),
            ("pyarrow read_csv, typed", timed(lambda: pcsv.read_csv(path))),
        ]
        for name, (wall, cpu) in figures:
            print(f"  {name:<30} {wall:>7.3f} s wall {cpu:>7.3f} s CPU")


def startup(runs: int = 7) -> None:
    """Median wall and CPU seconds of fresh ``casparian --version`` processes beside Python's own
    start-up."""
    import resource
    import shutil
    import subprocess
    import sys

    casparian = shutil.which("casparian", path=str(Path(sys.executable).parent))
    assert casparian is not None

    def median_of(command: list[str]) -> tuple[float, float]:
        walls, cpus = [], []
        for _ in range(runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            walls.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        return statistics.median(walls), statistics.median(cpus)

    print(f"\nstart-up, median of {runs} fresh processes:")
    for name, command in (
        ("casparian --version", [casparian, "--version"]),
        ("python -c pass", [sys.executable, "-c", "pass"]),
    ):
        wall, cpu = median_of(command)
        print(f"  {name:<30} {wall:>7.3f} s wall {cpu:>7.3f} s CPU")


def folder(entries: list[dict[str, object]]) -> None:
    """Wall seconds per file of one ``schema discover --json`` process over all corpus files."""
    import shutil
    import subprocess
    import sys
    import tempfile

    casparian = shutil.which("casparian", path=str(Path(sys.executable).parent))
    assert casparian is not None
    with tempfile.TemporaryDirectory() as work:
        data = Path(work) / "data"
        data.mkdir()
        for number, entry in enumerate(entries):
            source = CORPORA / str(entry["file"])
            suffix = source.suffix if source.suffix in (".csv", ".tsv", ".txt") else ".txt"
            shutil.copyfile(source, data / f"{number:03d}_{source.stem}{suffix}")
        count = len(list(data.iterdir()))
        started = time.perf_counter()
        done = subprocess.run(
            [casparian, "--home", f"{work}/home", "schema", "discover", str(data), "--json",
             "-o", f"{work}/proposals"],
            capture_output=True, text=True, cwd=work,
        )  # fmt: skip
        wall = time.perf_counter() - started
        listed = len(json.loads(done.stdout)["files"]) if done.returncode == 0 else 0
        print(
            f"\none `schema discover --json` over {count} files: {wall:.2f} s, "
            f"{wall / count:.4f} s/file ({listed} listed with their dialect)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="List each tool's wrong answers.")
    parser.add_argument("--only-ours", action="store_true", help="Score only our sniffer.")
    parser.add_argument("--wide", action="store_true", help="Also time a 300-column 10 MB file.")
    parser.add_argument("--startup", action="store_true", help="Also time CLI start-up.")
    parser.add_argument("--folder", action="store_true", help="Also time one discover process.")
    args = parser.parse_args()
    entries = annotations()
    import duckdb  # noqa: F401  (imported before timing, as ours imports pyarrow before)

    import casparian_engine.contracts.discover  # noqa: F401

    tools: list[tuple[str, Callable[[Path], Found]]] = [("casparian", ours)]
    if not args.only_ours:
        tools += [("csv.Sniffer", python_sniffer), ("duckdb sniff_csv", duckdb_sniffer)]
    scores = [score(name, detect, entries) for name, detect in tools]
    print(f"{len(entries)} annotated files ({ANNOTATIONS.relative_to(CORPORA.parent.parent)})")
    print(
        f"{'tool':<18} {'exact dialect':>13} {'delimiter':>10} {'header':>8} {'preamble':>9} "
        f"{'median s/file':>14} {'mean s/file':>12}"
    )
    for result in scores:
        print(
            f"{result.tool:<18} {result.share(result.dialect):>13.1%} "
            f"{result.share(result.delimiter):>10.1%} {result.share(result.header):>8.1%} "
            f"{result.share(result.preamble):>9.1%} {statistics.median(result.seconds):>14.4f} "
            f"{statistics.fmean(result.seconds):>12.4f}"
        )
    if args.misses:
        for result in scores:
            print(f"\n{result.tool} misses ({len(result.misses)}):")
            for miss in result.misses:
                print(f"  {miss}")
    if args.wide:
        wide()
    if args.startup:
        startup()
    if args.folder:
        folder(entries)


if __name__ == "__main__":
    main()
