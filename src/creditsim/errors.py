"""The one base of every error that creditsim reports to its user.

Each says what is wrong and what is allowed, in one message; it is raised before anything is
written (or, for a run cut off while writing, leaves a directory that `--resume` finishes). The
command line prints it and exits with status 2; the dashboard answers it with a 4xx.
"""

from __future__ import annotations


class CreditsimError(ValueError):
    """A mistake in what the user asked for, or a place that cannot be used; one message."""


def shorten(value: object, limit: int = 80) -> str:
    """A value the user gave, as a message repeats it: its text, cut to `limit` characters (a
    10 MB value must not come back as a 10 MB message)."""
    try:
        text = str(value)
    except ValueError:  # an integer of more digits than Python writes out
        return "a number too long to repeat"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class OutputError(CreditsimError):
    """The output directory cannot be used; nothing has been written."""


__all__ = ["CreditsimError", "OutputError", "shorten"]
