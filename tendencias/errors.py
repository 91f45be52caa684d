"""The error every command prints and exits 2 on: a flag, value or input file the user must fix.
(A record that breaks its contract is a `records.RecordError`, which goes to the dead letters.)"""


class UsageError(ValueError):
    """A flag or value the user must fix; entry points print it and exit with status 2."""
