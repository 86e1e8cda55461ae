"""The ``casparian`` command line (Typer). Each module here registers one group of commands."""
