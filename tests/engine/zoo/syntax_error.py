# A parser with a syntax error: the guest must report it, not hang.
def parse(path)
    return None
