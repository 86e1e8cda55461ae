"""Calls os._exit(0) half-way: no error frame, the host must notice the guest is gone."""

import os

import pyarrow as pa


def parse(path):
    yield pa.table({"n": [1]})
    os._exit(0)
