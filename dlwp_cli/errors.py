"""Errors that reach the user as one clear paragraph instead of a traceback."""

from dlwp_tasks.errors import DataError, DlwpError

__all__ = ["ConfigError", "DataError", "DlwpError", "OutputError"]


class ConfigError(DlwpError):
    """The composed configuration is invalid."""

    title = "configuration error"


class OutputError(DlwpError):
    """The run folder cannot be written."""

    title = "output error"
