"""A sink wrapper for ``casparian run --keep-going``: a file's rows pass only once it succeeded.

Everything written since the last finished file is held; ``accept()`` (a file finished) passes it to
the real sink, ``reject()`` (a file failed) drops it, so a failed file leaves no rows behind. Held
rows are bounded: past ``max_held_bytes`` they pass through early and the file is marked
``spilled``; a spilled file that then fails cannot be taken back, which the caller must report.
"""

from __future__ import annotations

import pyarrow as pa

from ..sinks import Sink

DEFAULT_MAX_HELD_BYTES = 256 * 1024 * 1024


class FileGate:
    """Holds the current file's writes until it is accepted or rejected."""

    def __init__(self, sink: Sink, max_held_bytes: int = DEFAULT_MAX_HELD_BYTES) -> None:
        self.sink = sink
        self.uri = sink.uri
        self.max_held_bytes = max_held_bytes
        self.spilled = False
        self._held: list[tuple[str, pa.Table]] = []
        self._held_bytes = 0

    def target(self, output: str) -> str:
        return self.sink.target(output)

    def exists(self, output: str) -> bool:
        return self.sink.exists(output)

    def write(self, output: str, table: pa.Table) -> None:
        self._held.append((output, table))
        self._held_bytes += table.nbytes
        if self._held_bytes > self.max_held_bytes:
            self.spilled = True
            self._pass_on()

    def accept(self) -> None:
        """The files written so far succeeded: pass their rows on."""
        self._pass_on()
        self.spilled = False

    def reject(self) -> bool:
        """The current file failed: drop its rows; False if some had already passed (spilled)."""
        clean = not self.spilled
        self._held, self._held_bytes, self.spilled = [], 0, False
        return clean

    def _pass_on(self) -> None:
        held, self._held, self._held_bytes = self._held, [], 0
        for output, table in held:
            self.sink.write(output, table)

    def commit(self) -> dict[str, str]:
        self._pass_on()
        return self.sink.commit()

    def abort(self) -> None:
        self._held, self._held_bytes = [], 0
        self.sink.abort()
