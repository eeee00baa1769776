"""The subcommands of the dlwp CLI."""
