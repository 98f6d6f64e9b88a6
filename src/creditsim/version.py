"""The version of creditsim, in one place (the package and pyproject.toml agree: a test checks)."""

__version__ = "0.1.0"
