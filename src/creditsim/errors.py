"""The one base of every error that creditsim reports to its user.

Each says what is wrong and what is allowed, in one message; it is raised before anything is
written (or, for a run cut off while writing, leaves a directory that `--resume` finishes). The
command line prints it and exits with status 2; the dashboard answers it with a 4xx.
"""

from __future__ import annotations


class CreditsimError(ValueError):
    """A mistake in what the user asked for, or a place that cannot be used; one message."""


class OutputError(CreditsimError):
    """The output directory cannot be used; nothing has been written."""


__all__ = ["CreditsimError", "OutputError"]
