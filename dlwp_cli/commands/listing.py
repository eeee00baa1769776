"""``dlwp list [GROUP]``: the options of each config group with their one-line descriptions."""

from __future__ import annotations

from rich.table import Table

from dlwp_cli.config import catalog
from dlwp_cli.config.validate import suggest
from dlwp_cli.console import console
from dlwp_cli.errors import ConfigError


def list_command(group: str | None = None) -> int:
    groups = catalog.groups()
    if group is not None and group not in groups:
        raise ConfigError(f"Unknown config group '{group}'.{suggest(group, groups)} Groups: {', '.join(groups)}.")
    for name in [group] if group else groups:
        table = Table(title=f"[bold]{name}[/]", title_justify="left", show_header=False, show_edge=False, box=None)
        table.add_column("option", style="cyan", no_wrap=True)
        table.add_column("description")
        for option in catalog.options(name):
            table.add_row(option, catalog.description(name, option))
        console.print(table)
        console.print()
    if not group:
        console.print("Choose with GROUP=OPTION, e.g. dlwp run task=imdb model=dense; see one group with dlwp list GROUP.")
    return 0
