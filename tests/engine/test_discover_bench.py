"""The dialect scorer (bench/discover.py) on the committed annotated corpus: accuracy floors that
fail the build when sniffing gets worse (figures, not times)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench" / "discover.py"
EXACT_DIALECT_FLOOR = 0.95
HEADER_FLOOR = 0.92
PREAMBLE_FLOOR = 0.92


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_discover", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_sniffing_accuracy_on_the_annotated_corpus_stays_above_its_floors() -> None:
    bench = load_bench()
    entries = bench.annotations()
    assert len(entries) >= 80
    for entry in entries:  # every annotated file is committed, and says where it came from
        assert (bench.CORPORA / entry["file"]).is_file(), entry["file"]
        assert entry["source"] and entry["licence"], entry["file"]
    result = bench.score("casparian", bench.ours, entries)
    dialect, header = result.share(result.dialect), result.share(result.header)
    print(
        f"exact dialect {dialect:.1%}, header {header:.1%}, preamble "
        f"{result.share(result.preamble):.1%} over {result.files} files; misses: {result.misses}"
    )
    assert result.share(result.dialect) >= EXACT_DIALECT_FLOOR, result.misses
    assert result.share(result.header) >= HEADER_FLOOR, result.misses
    assert result.share(result.preamble) >= PREAMBLE_FLOOR, result.misses
