"""Errors that reach the user as one clear paragraph instead of a traceback."""


class DlwpError(Exception):
    """Base class: an error whose message tells the user what to change."""

    title = "error"


class ConfigError(DlwpError):
    """The composed configuration is invalid."""

    title = "configuration error"


class DataError(DlwpError):
    """A dataset file is missing, corrupt or cannot be downloaded."""

    title = "data error"


class OutputError(DlwpError):
    """The run folder cannot be written."""

    title = "output error"
