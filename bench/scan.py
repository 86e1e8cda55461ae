"""Scan benchmark: first scan (with SHA-256) and rescan of N small files, beside bare baselines.

Builds (or reuses) a tree of N small files under ``bench/.work/scan-<N>``, then prints in one run:
a bare ``os.scandir`` walk, ``find -type f``, a walk + ``stat`` + batched SQLite insert (the floor
of any scan that records files), the first ``casparian`` scan into a fresh store, a rescan of the
unchanged tree, and the peak RSS of this process and of the hash workers. Ratios are to the
walk + stat + insert floor measured in the same run (the machine is shared and noisy).

    .venv/bin/python bench/scan.py                 # 200,000 files
    .venv/bin/python bench/scan.py --files 1000000
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

from casparian_engine.scout.scan import Scanner
from casparian_engine.store import Store

FILES_PER_FOLDER = 1000
WORK_DIR = Path(__file__).resolve().parent / ".work"


def build_tree(root: Path, file_count: int) -> None:
    """N small CSV files, 1,000 per folder, 10 folders per parent; reused when complete."""
    marker = root.with_name(root.name + ".complete")
    if marker.exists():
        return
    for index in range(file_count):
        folder = root / f"g{index // (FILES_PER_FOLDER * 10)}" / f"d{index // FILES_PER_FOLDER}"
        if index % FILES_PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{index}.csv").write_text(f"id,value\n{index},{index * 7 % 1000}\n")
    marker.write_text(str(file_count))


def bare_walk(root: str) -> int:
    """Count files with ``os.scandir`` and an explicit stack, no stat (the floor)."""
    count = 0
    stack = [root]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    count += 1
    return count


def count_find_output(root: Path) -> int:
    """Run ``find -type f`` and count its lines while streaming (holds no list of paths)."""
    with subprocess.Popen(["find", str(root), "-type", "f"], stdout=subprocess.PIPE) as find:
        assert find.stdout is not None
        return sum(chunk.count(b"\n") for chunk in iter(lambda: find.stdout.read(1 << 20), b""))


def walk_stat_insert(root: str, db_path: str, batch_size: int = 2000) -> int:
    """Walk, ``stat`` every file and insert (path, size, mtime) in batches into SQLite (WAL)."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE files (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER)")
    rows: list[tuple[str, int, int]] = []
    count = 0
    stack = [root]

    def flush() -> None:
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO files VALUES (?, ?, ?)", rows)
        conn.execute("COMMIT")
        rows.clear()

    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                st = entry.stat(follow_symlinks=False)
                rows.append((entry.path, st.st_size, st.st_mtime_ns))
                count += 1
                if len(rows) >= batch_size:
                    flush()
    if rows:
        flush()
    conn.close()
    return count


def timed(label: str, count: int, seconds: float, baselines: dict[str, float]) -> float:
    rate = count / seconds
    ratios = ", ".join(f"{rate / base:.2f}× {name}" for name, base in baselines.items())
    ratio = f"  ({ratios})" if ratios else ""
    print(f"{label:<34} {count:>9,} files in {seconds:6.2f} s = {rate:>10,.0f} files/s{ratio}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200_000, help="number of small files")
    parser.add_argument("--hash-workers", type=int, default=None, help="hash processes (auto)")
    args = parser.parse_args()

    root = WORK_DIR / f"scan-{args.files}"
    started = time.perf_counter()
    build_tree(root, args.files)
    print(f"tree: {root} ({args.files:,} files, ready in {time.perf_counter() - started:.1f} s)")

    bare_walk(str(root))  # warm the page cache
    started = time.perf_counter()
    walked = bare_walk(str(root))
    bare_rate = timed("bare os.scandir walk", walked, time.perf_counter() - started, {})
    started = time.perf_counter()
    found = count_find_output(root)
    timed("find -type f", found, time.perf_counter() - started, {"bare walk": bare_rate})

    rss_before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory(prefix="casparian-bench-") as home:
        started = time.perf_counter()
        inserted = walk_stat_insert(str(root), f"{home}/floor.db")
        floor_rate = timed(
            "walk + stat + SQLite insert", inserted, time.perf_counter() - started,
            {"bare walk": bare_rate},
        )  # fmt: skip
        baselines = {"floor": floor_rate, "bare walk": bare_rate}
        store = Store(f"sqlite:///{home}/state.db")
        started = time.perf_counter()
        first_scanner = Scanner(store, root, hash_workers=args.hash_workers)
        first = first_scanner.run()
        timed(
            "first scan (stat+SHA-256+insert)", first.new, time.perf_counter() - started, baselines
        )
        started = time.perf_counter()
        again_scanner = Scanner(store, root, hash_workers=args.hash_workers)
        again = again_scanner.run()
        timed("rescan (unchanged)", again.unchanged, time.perf_counter() - started, baselines)
        store.close()
    assert first.new == args.files and again.unchanged == args.files, (first, again)
    own_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # RUSAGE_CHILDREN would report this process's size at fork time: read the workers' VmHWM.
    worker_peaks = [
        peak
        for peak in (first_scanner.worker_peak_rss_mb, again_scanner.worker_peak_rss_mb)
        if peak
    ]
    workers = f"{max(worker_peaks):.0f} MB" if worker_peaks else "none (hashed inline)"
    print(
        f"peak RSS: scanning process {own_mb:.0f} MB (before scanning {rss_before_mb:.0f} MB), "
        f"largest examine worker {workers}; load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
