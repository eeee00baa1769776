"""Compose the config tree with Hydra's compose API and turn Hydra's errors into clear ones.

Composition uses the config search path of :mod:`dlwp_cli.config.catalog` (the packaged tree, the user's
``--config-dir`` and ``hydra.searchpath`` entries), built the way ``dlwp run`` builds it for Hydra, so the
up-front check, ``dlwp show`` and the real run see the same configs.
"""

from __future__ import annotations

import re
from contextlib import nullcontext

from hydra import compose as hydra_compose
from hydra import version
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException, MissingConfigException
from omegaconf import DictConfig, open_dict

from dlwp_cli.config import catalog
from dlwp_cli.config.validate import suggest, validate
from dlwp_cli.errors import ConfigError


def compose(overrides: list[str] | tuple[str, ...] = ()) -> DictConfig:
    """The composed (unvalidated) config for these overrides, with ``hydra`` runtime set.

    The catalog's search path applies: its ``--config-dir`` is added as Hydra's ``--config-dir`` adds it,
    and its ``hydra.searchpath`` entries unless the overrides give their own ``hydra.searchpath``."""
    overrides = list(overrides)
    given = catalog.searchpath_override(overrides)
    current = catalog.get_search_path()
    scope = nullcontext(current) if given is None else catalog.using_search_path(current.config_dir, given)
    with scope as search_path:
        sent = overrides
        if given is None and search_path.searchpath:
            sent = [*overrides, catalog.searchpath_override_text(search_path.searchpath)]
        GlobalHydra.instance().clear()
        try:
            _initialize(search_path)
            cfg = hydra_compose("config", overrides=sent, return_hydra_config=True)
        except (HydraException, MissingConfigException, ValueError) as err:
            raise translate_hydra_error(err, overrides) from None
        finally:
            GlobalHydra.instance().clear()
    HydraConfig.instance().set_config(cfg)
    return cfg


def _initialize(search_path: catalog.SearchPath) -> None:
    """Hydra's global state for compose(): what ``initialize_config_dir`` does, plus ``--config-dir`` added
    the way ``hydra.main`` adds it (right before the structured-config schema source)."""
    from hydra._internal.hydra import Hydra
    from hydra._internal.utils import create_config_search_path
    from hydra.core.config_search_path import SearchPathQuery

    version.setbase("1.3")
    csp = create_config_search_path(search_path_dir=str(catalog.CONF_DIR))
    if search_path.config_dir is not None:
        csp.prepend(provider="command-line", path=f"file://{search_path.config_dir}",
                    anchor=SearchPathQuery(provider="schema"))
    Hydra.create_main_hydra2(task_name="dlwp", config_search_path=csp)


def compose_validated(overrides: list[str] | tuple[str, ...] = ()) -> DictConfig:
    """Compose and validate; the result carries no ``hydra`` node."""
    return validate(compose(overrides))


def translate_hydra_error(err: Exception, overrides: list[str] | tuple[str, ...]) -> ConfigError:
    """One actionable paragraph for Hydra's composition errors."""
    text = str(err)
    missing_option = re.search(r"Could not find '([^']+)'", text)
    if missing_option and "/" in missing_option.group(1):
        group, _, option = missing_option.group(1).partition("/")
        if group in catalog.groups():
            choices = catalog.options(group)
            return ConfigError(
                f"Unknown {group} '{option}'.{suggest(option, choices)} "
                f"Available {group} options: {', '.join(choices)} (see 'dlwp list {group}'"
                f"{_search_path_hint()})."
            )
    deleted = re.search(r"Could not delete from config\. '([^']+)' does not exist", text)
    not_in_struct = re.search(r"Key '([^']+)' is not in struct", text)
    if deleted or not_in_struct or "Could not override" in text:
        key = deleted.group(1) if deleted else _override_key_from_message(text, overrides)
        if key.split(".")[0].split("=")[0].lstrip("+") == "search_space" and not deleted:
            return ConfigError(
                "search_space starts empty, so its entries are new keys: add one with "
                "\"+search_space.KEY='EXPR'\" (quoted so that Hydra keeps the expression whole), or replace the "
                "whole mapping with \"++search_space={KEY: 'EXPR', ...}\"."
            )
        unknown, known = _first_unknown_part(key, overrides)
        parent, _, leaf = unknown.rpartition(".")
        where = f" (in '{key}')" if unknown != key else ""
        hint = suggest(leaf, known)
        if not hint and not parent:
            hint = suggest(leaf.split("/")[0], catalog.groups())
        valid = ", ".join(sorted(known)) or "none"
        return ConfigError(
            f"Unknown key '{unknown}'{where}.{hint} "
            f"Valid keys{' under ' + parent if parent else ''}: {valid}."
            + ("" if deleted else f" Use '+{key}=...' only to add a new key on purpose.")
        )
    first = text.strip().splitlines()[0] if text.strip() else type(err).__name__
    return ConfigError(f"Cannot compose the configuration: {first}{syntax_hint(text)}")


def syntax_hint(text: str) -> str:
    """Advice for an override Hydra's grammar cannot read (the text of its error), else ''."""
    if "LexerNoViableAlt" not in text and "no viable alternative" not in text and "mismatched input" not in text:
        return ""
    return (". Hydra reads override values with its own grammar, where characters such as # ~ [ ] { } ( ) , = "
            "and quotes mean something: quote a value that holds them, inside the shell's quotes, e.g. "
            "\"task.path='data/run #2.csv'\" (https://hydra.cc/docs/advanced/override_grammar/basic/).")


def _search_path_hint() -> str:
    search_path = catalog.get_search_path()
    if search_path.config_dir is None and not search_path.searchpath:
        return ""
    return f"; searched {', '.join(search_path.sources())}"


def _override_key_from_message(text: str, overrides) -> str:
    match = re.search(r"Could not override '([^']+)'", text) or re.search(r"full_key: (\S+)", text)
    if match:
        return match.group(1)
    return next((o.split("=")[0] for o in overrides if "=" in o), "?")


def _first_unknown_part(key: str, overrides) -> tuple[str, list[str]]:
    """The shortest prefix of ``key`` the composed config lacks, and the keys valid at its level.

    ``optimzer.learning_rate`` -> ('optimzer', [top-level keys]); ``optimizer.learnin_rate`` ->
    ('optimizer.learnin_rate', [keys of optimizer])."""
    cfg = _composed_groups(overrides)
    if cfg is None:
        return key, []
    parts = key.split(".")
    node = cfg
    for depth, part in enumerate(parts):
        keys = [str(k) for k in node.keys()] if isinstance(node, DictConfig) else []
        if part not in keys or depth == len(parts) - 1:
            return ".".join(parts[: depth + 1]), keys
        try:
            node = node[part]
        except Exception:  # an interpolation that does not resolve here: no keys to offer below it
            node = None
    return key, []


def _composed_groups(overrides) -> DictConfig | None:
    """The config composed with only the overrides' group choices (and search path), without ``hydra``."""
    group_names = catalog.groups()
    group_choices = [o for o in overrides
                     if "=" in o and (o.split("=")[0] in group_names or catalog.is_searchpath(o))]
    if list(overrides) == group_choices:  # the group choices alone failed: nothing simpler to compose
        return None
    try:
        cfg = compose(group_choices)
    except ConfigError:
        return None
    with open_dict(cfg):
        cfg.pop("hydra", None)
    return cfg
