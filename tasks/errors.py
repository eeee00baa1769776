"""Errors whose message tells the user what to change (shared by the tasks and the CLI)."""


class DlwpError(Exception):
    """Base class: an error whose message tells the user what to change."""

    title = "error"


class DataError(DlwpError):
    """A dataset file is missing, corrupt, malformed or cannot be downloaded."""

    title = "data error"
