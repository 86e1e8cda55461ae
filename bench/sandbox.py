"""The guest sandbox's cost beside the same guests unsandboxed, and 3M log lines beside Python.

    .venv/bin/python bench/sandbox.py                  # 10 starts, 2,000 small files, 3M lines
    .venv/bin/python bench/sandbox.py --starts 5 --files 500 --lines 1000000

(a) start-up: time from spawn to the parser's hello, per guest, sandboxed (bubblewrap) and not;
(b) per file: a dev run of many small CSVs through one warm guest, both ways — the sandbox's
    cost is paid once per guest, so per file it should vanish;
(c) logs: a parser printing N lines through ``casparian run``'s engine (lines batched in the guest,
    capped at the job's log cap, the rest counted), beside plain Python printing the same lines
    to a file.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from casparian_engine.bridge import isolation
from casparian_engine.bridge.host import GuestOptions, start_guest
from casparian_engine.config import Config, Settings
from casparian_engine.runner.dev import DevRunHooks, DevRunOptions, run_parser

PARSERS = Path(__file__).resolve().parent / "parsers"
CSV_PARSER = PARSERS / "arrow_csv.py"


def startup(settings: Settings, parser: Path, count: int) -> float:
    """Median seconds from spawn to hello for ``count`` guests."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        guest = start_guest(parser, settings, GuestOptions(inputs=[str(parser)]))
        times.append(time.perf_counter() - started)
        guest.stop()
    return statistics.median(times)


def many_files(home: Path, settings: Settings, files: list[Path], tag: str) -> float:
    config = Config(home=home, settings=settings)
    options = DevRunOptions(sink_uri=f"parquet://{home / tag}", guests=1)
    summary = run_parser(config, CSV_PARSER, files, options)
    assert summary.failure is None, summary.failure
    return summary.seconds


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--starts", type=int, default=10)
    options.add_argument("--files", type=int, default=2_000)
    options.add_argument("--lines", type=int, default=3_000_000)
    arguments = options.parse_args()
    found = isolation.detect()
    print(
        f"sandbox: {found.bwrap or 'unavailable: ' + found.sandbox_problem}; memory: {found.memory}"
    )
    boxed = Settings()
    open_ = dataclasses.replace(Settings(), guest_sandbox="off")
    with tempfile.TemporaryDirectory(prefix="casparian-bench-") as scratch:
        work = Path(scratch)
        sandboxed_start = startup(boxed, CSV_PARSER, arguments.starts)
        plain_start = startup(open_, CSV_PARSER, arguments.starts)
        print(
            f"(a) guest start-up, median of {arguments.starts}: sandboxed "
            f"{sandboxed_start * 1000:.0f} ms, unsandboxed {plain_start * 1000:.0f} ms, "
            f"sandbox cost {(sandboxed_start - plain_start) * 1000:+.0f} ms per guest"
        )
        folder = work / "files"
        folder.mkdir()
        files = []
        for index in range(arguments.files):
            path = folder / f"f{index:05d}.csv"
            path.write_text(f"id,name\n{index},a\n{index + 1},b\n")
            files.append(path)
        sandboxed_run = many_files(work / "h1", boxed, files, "a")
        plain_run = many_files(work / "h2", open_, files, "b")
        per_file = (sandboxed_run - plain_run) / arguments.files * 1e6
        print(
            f"(b) {arguments.files:,} small files, one warm guest: sandboxed {sandboxed_run:.2f} s "
            f"({sandboxed_run / arguments.files * 1e6:.0f} µs/file), unsandboxed "
            f"{plain_run:.2f} s ({plain_run / arguments.files * 1e6:.0f} µs/file), "
            f"difference {per_file:+.0f} µs/file"
        )
        printer = work / "printer.py"
        plain_script = work / "plain.py"
        plain_script.write_text(
            f"for i in range({arguments.lines}):\n    print(f'line {{i}} of the parser log')\n"
        )
        with open(work / "plain.log", "wb") as sink:
            started = time.perf_counter()
            subprocess.run([sys.executable, str(plain_script)], stdout=sink, check=True)
            plain_seconds = time.perf_counter() - started
        printer.write_text(
            "import pyarrow as pa\n\n\ndef parse(path):\n"
            f"    for i in range({arguments.lines}):\n"
            "        print(f'line {i} of the parser log')\n"
            "    return pa.table({'n': [1]})\n"
        )
        received = [0]
        config = Config(home=work / "h3", settings=boxed)
        with open(work / "guest.log", "w") as log_file:

            def on_log(level: int, message: str) -> None:
                received[0] += 1
                log_file.write(message + "\n")

            started = time.perf_counter()
            summary = run_parser(
                config,
                printer,
                [files[0]],
                DevRunOptions(sink_uri=f"parquet://{work / 'c'}", guests=1),
                DevRunHooks(on_log=on_log),
            )
            guest_seconds = time.perf_counter() - started
        assert summary.failure is None, summary.failure
        print(
            f"(c) {arguments.lines:,} printed lines: casparian run {guest_seconds:.2f} s "
            f"({received[0]:,} lines reached the log, {summary.log_dropped_lines:,} dropped at "
            f"the {boxed.log_cap_bytes:,} byte cap), plain Python to a file "
            f"{plain_seconds:.2f} s: {guest_seconds / plain_seconds:.2f}x"
        )


if __name__ == "__main__":
    main()
