"""The queued worker's job handler: the one executor over a warm guest per parser version.

For each job the handler looks up (or starts) a guest for the job's parser version — its bundle
verified and extracted, its locked environment built — and feeds it the job's file through the
shared ``Executor``. Outputs go to ``<output_root>/<parser>/<output>/job-<id>.parquet``: written to
a hidden temp file and renamed into place when the file is done, so a reader never sees a partial
file and a rerun of the same job (after a crash) replaces its file instead of adding rows twice. A
guest that fails is stopped and replaced on the next job.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..bridge.host import GuestError, GuestProcess, start_guest
from ..config import Config
from ..logs import JobLog
from ..sinks import SinkError, check_output_name, check_same_schema
from ..store.jobs import JobOutcome
from .contracts_seam import contract_validator
from .executor import ExecutionError, Executor, FileTask
from .quarantine import Validator
from .worker import JobContext, JobError

LOG_LEVELS = {10: "debug", 20: "info", 30: "warning", 40: "error", 50: "critical"}


class JobPartSink:
    """A sink holding one job's rows: one Parquet part per output, published on ``commit``."""

    def __init__(self, root: Path, job_id: int) -> None:
        self.root = root
        self.uri = f"parquet://{root}"
        self.part_name = f"job-{job_id}.parquet"
        self._writers: dict[str, tuple[pq.ParquetWriter, Path]] = {}

    def target(self, output: str) -> str:
        return str(self.root / check_output_name(output) / self.part_name)

    def exists(self, output: str) -> bool:
        return Path(self.target(output)).exists()

    def write(self, output: str, table: pa.Table) -> None:
        entry = self._writers.get(output)
        if entry is None:
            directory = self.root / check_output_name(output)
            directory.mkdir(parents=True, exist_ok=True)
            temp = directory / f".{self.part_name}.{os.getpid()}.tmp"
            entry = (pq.ParquetWriter(temp, table.schema), temp)
            self._writers[output] = entry
        writer, _ = entry
        check_same_schema(output, writer.schema, table.schema)
        try:
            writer.write_table(table)
        except OSError as exc:
            raise SinkError(f"{self.target(output)}: writing failed: {exc}") from exc

    def commit(self) -> dict[str, str]:
        published: dict[str, str] = {}
        for output, (writer, temp) in self._writers.items():
            writer.close()
            target = Path(self.target(output))
            os.replace(temp, target)
            published[output] = str(target)
        self._writers.clear()
        return published

    def abort(self) -> None:
        for writer, temp in self._writers.values():
            with contextlib.suppress(Exception):
                writer.close()
            temp.unlink(missing_ok=True)
        self._writers.clear()


class ProdHandler:
    """Runs queued jobs through warm guests, one per parser version."""

    def __init__(self, config: Config) -> None:
        from ..workspace import Workspace

        self.config = config
        self.workspace = Workspace.open(config.home)
        self._guests: dict[tuple[str, str], tuple[GuestProcess, Validator]] = {}
        self._log: JobLog | None = None

    def _on_log(self, level: int, message: str) -> None:
        if self._log is not None:
            self._log.write(LOG_LEVELS.get(level, str(level)), message)

    def _guest(self, name: str, version: str) -> tuple[GuestProcess, Validator]:
        key = (name, version)
        if key in self._guests:
            return self._guests[key]
        from ..parsers.bundle import collect_source, read_metadata

        record = self.workspace.get_parser(name, version)
        if record is None:
            raise JobError("ParserNotFound", f"parser '{name}' {version} is not registered")
        source_dir = self.workspace.load_bundle(name, version)
        entry = source_dir / read_metadata(collect_source(source_dir)[0]).entry_file
        python = self.workspace.environment_for(record)
        guest = start_guest(entry, self.config.settings, python=str(python), on_log=self._on_log)
        assert guest.info is not None
        validator = contract_validator(entry.parent, guest.info.outputs)
        self._guests[key] = (guest, validator)
        return guest, validator

    def _discard(self, key: tuple[str, str]) -> None:
        guest_and_validator = self._guests.pop(key, None)
        if guest_and_validator is not None:
            with contextlib.suppress(Exception):
                guest_and_validator[0].stop()

    def __call__(self, context: JobContext) -> JobOutcome:
        job = context.job
        key = (job.parser_name, job.parser_version)
        self._log = context.log
        sink = JobPartSink(context.output_root / job.parser_name, job.id)
        try:
            guest, validator = self._guest(*key)
            executor = Executor(
                guest,
                sink,
                parser_name=job.parser_name,
                parser_version=job.parser_version,
                validator=validator,
                cancel=context.cancel,
                pipeline_depth=1,
            )
            (result,) = list(executor.run([FileTask(job.input_path, job.id, job.input_hash)]))
            targets = sink.commit()
        except (ExecutionError, GuestError) as exc:
            sink.abort()
            self._discard(key)
            raise JobError(exc.kind, exc.message, exc.retryable, exc.traceback) from exc
        except BaseException:
            sink.abort()
            self._discard(key)
            raise
        finally:
            self._log = None
        emitted = sum(c.emitted for c in result.outputs.values())
        written = sum(c.written for c in result.outputs.values())
        return JobOutcome(emitted, written, result.quarantined_rows, tuple(targets.values()))

    def close(self) -> None:
        for key in list(self._guests):
            self._discard(key)
        self.workspace.close()


def make_handler(config: Config) -> Any:
    """The default handler factory the worker loads."""
    return ProdHandler(config)
