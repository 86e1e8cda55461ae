"""Raises TransientError: a retry may succeed, so the guest exits with code 2."""

from casparian_parser import TransientError


def parse(path):
    raise TransientError("the network share is offline")
