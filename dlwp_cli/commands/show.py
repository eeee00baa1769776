"""``dlwp show [--config-dir DIR] [OVERRIDES]``: the composed, validated config as a tree, without training."""

from __future__ import annotations

from dlwp_cli.config import catalog
from dlwp_cli.config.compose import compose_validated
from dlwp_cli.console import config_tree, console
from dlwp_cli.errors import ConfigError


def show_command(overrides: list[str], config_dir: str | None = None) -> int:
    """``overrides`` may hold ``hydra.searchpath=[...]``; ``config_dir`` is Hydra's ``--config-dir``."""
    flags = [o for o in overrides if o.startswith("-")]
    if flags:
        raise ConfigError(f"dlwp show: unknown option '{flags[0]}'. It takes --config-dir DIR and overrides, "
                          "e.g. dlwp show --config-dir my_configs experiment=mine.")
    overrides = catalog.configure(config_dir, overrides)
    cfg = compose_validated(overrides)
    console.print(config_tree(cfg, title=f"dlwp config: {cfg.name}"))
    return 0
