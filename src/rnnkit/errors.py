"""The errors rnnkit raises for bad input: each message is one line that names the problem and what to do.

The command line prints these as ``error: <message>`` and exits with status 2; anything else is a bug.
"""


class RnnkitError(ValueError):
    """Bad input from the user: a file, a column, an option, a model directory."""


class DataError(RnnkitError):
    """A data file that cannot be read as labelled text."""


class ModelFileError(RnnkitError):
    """A saved model directory that is missing, damaged, or not ours."""


class RnnkitWarning(Warning):
    """Input that works but is probably not what the user meant: a stray label, blank texts, a model that learnt
    nothing. Raised with :func:`warnings.warn`; the command line prints it as ``warning: <message>`` even with
    ``--quiet``. (Not a ``UserWarning``, so that ``-W error::UserWarning`` keeps meaning third-party warnings.)"""
