"""A column mixing ints, text and None: it falls back to text instead of crashing the guest."""


def parse(path):
    return {"value": [1, "two", None, 4.5], "id": [1, 2, 3, 4]}
