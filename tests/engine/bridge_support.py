"""Helpers for the bridge/run tests: run a zoo parser through the real dev loop."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from casparian_engine.config import Config, Settings
from casparian_engine.runner.dev import RunSummary, run_parser

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
    **settings: object,
) -> RunSummary:
    """Run ``zoo/<parser>.py`` over ``inputs`` with settings overrides; logs go to ``logs``."""
    config = Config(home=home, settings=dataclasses.replace(Settings(), **settings))  # type: ignore[arg-type]
    collected = logs if logs is not None else []
    return run_parser(
        config,
        parser if isinstance(parser, Path) else ZOO / f"{parser}.py",
        inputs if isinstance(inputs, list) else [inputs],
        sink_uri=sink,
        on_log=lambda level, message: collected.append((level, message)),
        guests=guests,
        keep_going=keep_going,
        venv=venv,
    )
