"""Parses CSVs, but raises for any file whose name contains 'bad' (after yielding some rows)."""

import pyarrow as pa
import pyarrow.csv as pcsv


def parse(path):
    if "bad" in path.rsplit("/", 1)[-1]:
        yield pa.table({"n": pa.array([999], pa.int64())})
        raise ValueError(f"cannot parse {path.rsplit('/', 1)[-1]}: broken header")
    yield pcsv.read_csv(path)
