"""Reads a small CSV whole with pyarrow; prints which interpreter it runs on."""

import sys

import pyarrow.csv as pcsv

print(f"guest interpreter: {sys.executable}")


def parse(path):
    return pcsv.read_csv(path)
