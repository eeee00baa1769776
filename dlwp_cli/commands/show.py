"""``dlwp show [OVERRIDES]``: the composed, validated config as a tree, without training."""

from __future__ import annotations

from dlwp_cli.config.compose import compose_validated
from dlwp_cli.console import config_tree, console


def show_command(overrides: list[str]) -> int:
    cfg = compose_validated(overrides)
    console.print(config_tree(cfg, title=f"dlwp config: {cfg.name}"))
    return 0
