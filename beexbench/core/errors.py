"""The one exception type that the CLI turns into a single line and exit status 2."""


class UsageError(Exception):
    """Bad input from the user: an unknown name, a malformed file, an unavailable target."""
