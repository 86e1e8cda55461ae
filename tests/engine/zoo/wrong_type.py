"""Returns a string instead of data."""


def parse(path):
    return "a,b\n1,2\n"
