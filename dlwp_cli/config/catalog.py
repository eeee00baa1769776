"""The config tree as a table of contents: groups, options and their one-line descriptions.

Read straight from the YAML files (first comment line), so there is no second registry.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import dlwp_conf

CONF_DIR = Path(dlwp_conf.__file__).parent


def groups() -> list[str]:
    """Config groups, in the order of the root defaults list."""
    text = (CONF_DIR / "config.yaml").read_text()
    return re.findall(r"^\s*-\s+(\w+)\s*:", text, flags=re.M)


def options(group: str) -> list[str]:
    """Option names of a group (``ch04/imdb_dense`` style for nested experiment folders)."""
    folder = CONF_DIR / group
    return sorted(p.relative_to(folder).with_suffix("").as_posix() for p in folder.rglob("*.yaml"))


def description(group: str, option: str) -> str:
    """The first comment line of an option's file that is not a ``@package`` directive."""
    for line in (CONF_DIR / group / f"{option}.yaml").read_text().splitlines():
        if line.startswith("#") and "@package" not in line:
            return line.lstrip("# ").strip()
        if line.strip() and not line.startswith("#"):
            break
    return ""


@lru_cache(maxsize=None)
def model_targets() -> dict[str, str]:
    """Model option name -> its ``_target_``."""
    targets = {}
    for name in options("model"):
        match = re.search(r"^_target_:\s*(\S+)", (CONF_DIR / "model" / f"{name}.yaml").read_text(), flags=re.M)
        if match:
            targets[name] = match.group(1)
    return targets


def model_name_for_target(target: str) -> str | None:
    return next((name for name, t in model_targets().items() if t == target), None)


def models_for_input_kinds(kinds: list[str]) -> list[str]:
    """Model options whose body accepts one of the given input kinds."""
    from dlwp_cli.config.validate import model_class

    return [name for name, target in model_targets().items() if set(model_class(target).input_kinds) & set(kinds)]
