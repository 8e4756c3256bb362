"""Errors that the simulation raises for bad files and bad settings."""


class AssetError(RuntimeError):
    """A data or weights file is missing, damaged or has the wrong contents.

    The message names the file, what was expected and the command that rebuilds it.
    """


class SettingError(ValueError):
    """A training setting such as the temperature or alpha is out of its range."""
