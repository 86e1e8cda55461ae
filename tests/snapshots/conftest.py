"""The fixed home, data and lock of test_snapshots.py, for every snapshot module here."""

from tests.snapshots.test_snapshots import fixed_data, fixed_paths, fixed_workspace

__all__ = ["fixed_data", "fixed_paths", "fixed_workspace"]
