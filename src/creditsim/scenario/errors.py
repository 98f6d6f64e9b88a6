"""The error every scenario check raises."""

from creditsim.errors import CreditsimError


class ScenarioError(CreditsimError):
    """A scenario that cannot be used; the message names the file, the field and what is allowed."""


__all__ = ["ScenarioError"]
