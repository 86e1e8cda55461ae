"""Never yields and never returns: the inactivity timeout must stop it."""


def parse(path):
    while True:
        pass
