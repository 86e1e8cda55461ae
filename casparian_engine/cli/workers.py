"""``casparian worker`` (run a worker host on a shared store) and ``casparian workers`` (list them).

A worker host is a pool of worker processes on one machine, claiming from a queue other machines
share: the store is PostgreSQL, the outputs a folder every host mounts. It keeps no state of its
own beyond its home's parser environments (built from each registered bundle's ``uv.lock``,
offline from a shared wheelhouse with ``--wheelhouse``), job logs and extracted bundles.
See docs/SCALE-OUT.md.
"""

from __future__ import annotations

import dataclasses
import signal
import socket
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import typer

from .common import console, fail, home_option, print_json, require_existing_home

if TYPE_CHECKING:
    from ..config import Config
    from ..workspace.results import LiveWorker


def redacted(url: str) -> str:
    """A store URL fit to print: its password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _host_config(
    ctx: typer.Context, store: str | None, output: Path | None, wheelhouse: Path | None
) -> tuple[Config, dict[str, str]]:
    """This host's config with the command's overrides, and the environment its workers get."""
    from ..config import ConfigError, load_config

    try:
        config = load_config(home_option(ctx))
    except ConfigError as exc:
        fail(exc)
    settings = config.settings
    changes: dict[str, Any] = {}
    env: dict[str, str] = {}
    if store:
        changes["store_url"], env["CASPARIAN_STORE_URL"] = store, store
    if output:
        resolved = str(output.expanduser().resolve())
        changes["output_dir"], env["CASPARIAN_OUTPUT_DIR"] = resolved, resolved
    if wheelhouse:
        resolved = str(wheelhouse.expanduser().resolve())
        changes["wheelhouse"], env["CASPARIAN_WHEELHOUSE"] = resolved, resolved
        changes["offline_envs"], env["CASPARIAN_OFFLINE_ENVS"] = True, "true"
    settings = dataclasses.replace(settings, **changes)
    return dataclasses.replace(config, settings=settings), env


def worker_command(
    ctx: typer.Context,
    store: str | None = typer.Option(
        None,
        "--store",
        help="The shared store, postgresql://USER@HOST/DB (default: store_url in config.toml).",
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        help="The shared output folder every host mounts (default: output_dir in config.toml).",
    ),
    workers: int | None = typer.Option(
        None, "--workers", "-w", min=1, help="Worker processes (default: max_concurrent_workers)."
    ),
    parser: list[str] | None = typer.Option(None, "--parser", "-p", help="Only these parsers."),
    wheelhouse: Path | None = typer.Option(
        None,
        "--wheelhouse",
        help="Build parser environments offline from this wheelhouse (see `casparian vendor`).",
    ),
    batch: int | None = typer.Option(None, "--batch", min=1, help="Jobs a worker claims at once."),
    drain: bool = typer.Option(
        False, "--drain", help="Exit once the queue is empty (default: wait for new jobs)."
    ),
) -> None:
    """Run a worker host: a pool of workers claiming from a shared queue until stopped.

    SIGTERM or Ctrl+C stops it gracefully: running jobs finish, claimed ones return to the queue.
    """
    from ..errors import CasparianError
    from ..workspace import Workspace
    from .process import _print_summary

    config, env = _host_config(ctx, store, output, wheelhouse)
    if not config.settings.store_url:
        fail(
            "no shared store: give --store postgresql://USER@HOST/DB or set store_url in "
            f"{config.home / 'config.toml'}"
        )
    cancel = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: cancel.set())
    worker_count = workers or config.settings.max_concurrent_workers
    console.print(
        f"worker host {socket.gethostname()}: {worker_count} workers on "
        f"{redacted(config.store_url)}, outputs to {config.output_dir}; Ctrl+C stops",
        highlight=False,
        markup=False,
    )
    try:
        with Workspace.for_config(config) as workspace:
            summary = workspace.jobs.worker_host(
                worker_count, parser or (), batch, follow=not drain, worker_env=env, cancel=cancel
            )
    except CasparianError as exc:  # the store cannot be reached (StoreError)
        fail(exc)
    _print_summary(summary)


def workers_command(
    ctx: typer.Context,
    store: str | None = typer.Option(None, "--store", help="The shared store (default: config)."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the live worker hosts and workers: pid, last heartbeat and the jobs each runs now.

    A worker is live while its heartbeat is younger than lease_timeout_s."""
    from ..errors import CasparianError
    from ..workspace import Workspace

    if not store:
        require_existing_home(home_option(ctx))  # a mistyped --home: say so, create nothing
    config, _env = _host_config(ctx, store, None, None)
    try:
        with Workspace.for_config(config) as workspace:
            reading = (
                workspace.jobs.live_workers()
            )  # heartbeats' own clock: ages right across hosts
    except CasparianError as exc:  # the store cannot be reached (StoreError)
        fail(exc)
    live, now = reading.workers, reading.now
    if json_output:
        print_json(
            [
                {
                    **dataclasses.asdict(worker.record),
                    "heartbeat_age_s": round(now - worker.record.heartbeat_at, 1),
                    "jobs": [dataclasses.asdict(job) for job in worker.jobs],
                }
                for worker in live
            ]
        )
        return
    if not live:
        console.print(
            f"no live workers on {redacted(config.store_url)} (none sent a heartbeat in the "
            f"last {config.settings.lease_timeout_s:g} s)",
            highlight=False,
            markup=False,
        )
        return
    _print_live_workers(live, now)


def _print_live_workers(live: Sequence[LiveWorker], now: float) -> None:
    """Per host: its workers and running jobs; per worker: pid, heartbeat age, first jobs."""
    hosts: dict[str, list[LiveWorker]] = {}
    for worker in live:
        hosts.setdefault(worker.record.host, []).append(worker)
    for host, members in hosts.items():
        running = sum(len(w.jobs) for w in members)
        console.print(
            f"{host}: {len(members)} worker{'s' if len(members) != 1 else ''}, "
            f"{running} running job{'s' if running != 1 else ''}",
            highlight=False,
            markup=False,
        )
        for worker in members:
            age = max(0.0, now - worker.record.heartbeat_at)
            jobs = ", ".join(f"{job.job_id} {job.input_path}" for job in worker.jobs[:3])
            more = f" (+{len(worker.jobs) - 3} more)" if len(worker.jobs) > 3 else ""
            console.print(
                f"  pid {worker.record.pid}  heartbeat {age:.0f} s ago  "
                f"{len(worker.jobs)} job{'s' if len(worker.jobs) != 1 else ''}"
                + (f": {jobs}{more}" if jobs else ""),
                highlight=False,
                markup=False,
                soft_wrap=True,
            )


def register(app: typer.Typer) -> None:
    app.command("worker")(worker_command)
    app.command("workers")(workers_command)
