"""Imports a module that does not exist in the guest's environment."""

import casparian_no_such_module  # noqa: F401


def parse(path):
    return None
