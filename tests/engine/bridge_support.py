"""Helpers for the bridge/run tests: run a zoo parser through the real dev loop."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from casparian_engine.config import Config, Settings
from casparian_engine.runner.dev import DevRunHooks, DevRunOptions, RunSummary, run_parser

ZOO = Path(__file__).resolve().parent / "zoo"


def zoo_run(
    home: Path,
    parser: str | Path,
    inputs: Path | list[Path],
    sink: str | None = None,
    logs: list[tuple[int, str]] | None = None,
    *,
    guests: int | None = None,
    keep_going: bool = False,
    venv: str | None = None,
    log_handler: Callable[[int, str], None] | None = None,
    notices: list[dict[str, Any]] | None = None,
    **settings: object,
) -> RunSummary:
    """Run ``zoo/<parser>.py`` over ``inputs`` with settings overrides; logs go to ``logs``
    (and to ``log_handler`` as they arrive), the guest's notices to ``notices``."""
    config = Config(home=home, settings=dataclasses.replace(Settings(), **settings))  # type: ignore[arg-type]
    collected = logs if logs is not None else []

    def on_log(level: int, message: str) -> None:
        collected.append((level, message))
        if log_handler is not None:
            log_handler(level, message)

    return run_parser(
        config,
        parser if isinstance(parser, Path) else ZOO / f"{parser}.py",
        inputs if isinstance(inputs, list) else [inputs],
        DevRunOptions(sink_uri=sink, venv=venv, keep_going=keep_going, guests=guests),
        DevRunHooks(on_log=on_log, on_notice=notices.append if notices is not None else None),
    )
