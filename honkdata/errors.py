"""The one exception type the CLI turns into a one-line message and a non-zero exit."""


class HonkdataError(Exception):
    """A problem with the user's input, config or store, worth one clear line, not a traceback."""
