"""``dlwp list [GROUP] [--config-dir DIR]``: the options of each config group with their one-line
descriptions, over the packaged configs and the user's config dirs."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from dlwp_cli.config import catalog
from dlwp_cli.config.validate import suggest
from dlwp_cli.console import console
from dlwp_cli.errors import ConfigError


def list_command(words: list[str] | str | None = None, config_dir: str | None = None) -> int:
    """``words``: at most one group name, plus an optional ``hydra.searchpath=[...]`` override."""
    words = [words] if isinstance(words, str) else list(words or [])
    overrides = [w for w in words if "=" in w]
    names = [w for w in words if "=" not in w]
    bad = [o for o in overrides if not catalog.is_searchpath(o)] + [n for n in names if n.startswith("-")]
    if bad or len(names) > 1:
        raise ConfigError(f"dlwp list takes one group name, --config-dir DIR and hydra.searchpath=[...]; "
                          f"got {' '.join(bad or names)}.")
    catalog.configure(config_dir, overrides)
    group = names[0] if names else None
    groups = catalog.groups()
    if group is not None and group not in groups:
        raise ConfigError(f"Unknown config group '{group}'.{suggest(group, groups)} Groups: {', '.join(groups)}.")
    for name in [group] if group else groups:
        table = Table(title=f"[bold]{name}[/]", title_justify="left", show_header=False, show_edge=False, box=None)
        table.add_column("option", style="cyan", no_wrap=True)
        table.add_column("description")
        for option in catalog.options(name):
            text = escape(catalog.description(name, option))
            shadowed = catalog.files(name, option)[1:]
            if shadowed:
                text += f" [yellow](not used: {escape(', '.join(map(str, shadowed)))}; Hydra takes the first)[/]"
            table.add_row(escape(option), text)
        console.print(table)
        console.print()
    if not group:
        console.print("Choose with GROUP=OPTION, e.g. dlwp run task=imdb model=dense; see one group with dlwp list GROUP.")
    return 0
