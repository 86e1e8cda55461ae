"""Output sinks named by URI: ``parquet://DIR``, ``ipc://DIR``, ``sqlite://FILE``, ``duckdb://FILE``,
``stdout``. Every sink stages what it is given and makes it visible only in ``commit()``.

Usage: ``sink = open_sink(uri, default_dir=..., overwrite=False)``; ``sink.write(output, table)``
any number of times; then ``sink.commit()`` (or ``sink.abort()``). Nothing a reader can see changes
before ``commit``, and a crash before it leaves the previous state intact.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from ..errors import CasparianError

__all__ = ["Sink", "SinkError", "OutputExistsError", "open_sink", "check_output_name"]

OUTPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,127}$")


class SinkError(CasparianError):
    """A sink cannot be opened or written (bad URI, schema change, I/O error)."""


class OutputExistsError(SinkError):
    """The target of an output already exists and overwriting was not asked for."""


class Sink(Protocol):
    """Where a run's rows go; staged until ``commit``."""

    uri: str

    def target(self, output: str) -> str:
        """Where ``output`` will be visible after commit (a path or ``file#table``)."""
        ...

    def exists(self, output: str) -> bool:
        """Whether ``output`` already has committed data at its target."""
        ...

    def write(self, output: str, table: pa.Table) -> None:
        """Stage rows for ``output``; every call for one output must share one schema."""
        ...

    def commit(self) -> dict[str, str]:
        """Make everything staged visible at once; returns output -> target."""
        ...

    def abort(self) -> None:
        """Discard everything staged."""
        ...


def check_output_name(output: str) -> str:
    """Output names become file and table names: letters, digits, ``_`` and ``-`` only."""
    if not OUTPUT_NAME.match(output):
        raise SinkError(
            f"output name {output!r} is not usable as a file or table name "
            "(use letters, digits, '_' or '-', starting with a letter or '_')"
        )
    return output


def check_same_schema(output: str, expected: pa.Schema, actual: pa.Schema) -> None:
    """Refuse a batch whose schema differs from the output's first batch, with a readable diff."""
    if expected.equals(actual):
        return
    before = {field.name: field.type for field in expected}
    after = {field.name: field.type for field in actual}
    changes = [f"column {n!r} missing (was {t})" for n, t in before.items() if n not in after]
    changes += [f"new column {n!r} ({t})" for n, t in after.items() if n not in before]
    changes += [
        f"column {n!r} was {t}, now {after[n]}"
        for n, t in before.items()
        if n in after and after[n] != t
    ]
    if not changes:
        changes = ["same columns in a different order"]
    raise SinkError(f"output {output!r} changed schema between batches: " + "; ".join(changes))


def open_sink(uri: str | None, *, default_dir: Path, overwrite: bool = False) -> Sink:
    """Open the sink a URI names; ``None`` means Parquet under ``default_dir``."""
    from .databases import DuckDBSink, SQLiteSink
    from .files import ArrowFileSink
    from .stdout import StdoutSink

    if uri is None or uri == "":
        return ArrowFileSink(Path(default_dir), "parquet", overwrite=overwrite)
    if uri == "stdout":
        return StdoutSink()
    scheme, separator, location = uri.partition("://")
    if not separator or not location:
        raise SinkError(
            f"sink {uri!r} is not a URI; use parquet://DIR, ipc://DIR, sqlite://FILE, "
            "duckdb://FILE or stdout"
        )
    path = Path(location).expanduser()
    if scheme == "parquet":
        return ArrowFileSink(path, "parquet", overwrite=overwrite)
    if scheme == "ipc":
        return ArrowFileSink(path, "ipc", overwrite=overwrite)
    if scheme == "sqlite":
        return SQLiteSink(path, overwrite=overwrite)
    if scheme == "duckdb":
        return DuckDBSink(path, overwrite=overwrite)
    raise SinkError(
        f"sink {uri!r}: unknown scheme {scheme!r} (parquet, ipc, sqlite, duckdb, stdout)"
    )
