"""Compose the config tree with Hydra's compose API and turn Hydra's errors into clear ones."""

from __future__ import annotations

import re

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException, MissingConfigException
from omegaconf import DictConfig, OmegaConf, open_dict

from dlwp_cli.config import catalog
from dlwp_cli.config.validate import suggest, validate
from dlwp_cli.errors import ConfigError


def compose(overrides: list[str] | tuple[str, ...] = ()) -> DictConfig:
    """The composed (unvalidated) config for these overrides, with ``hydra`` runtime set."""
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(catalog.CONF_DIR), version_base="1.3", job_name="dlwp"):
            cfg = hydra_compose("config", overrides=list(overrides), return_hydra_config=True)
    except (HydraException, MissingConfigException, ValueError) as err:
        raise translate_hydra_error(err, overrides) from None
    finally:
        GlobalHydra.instance().clear()
    HydraConfig.instance().set_config(cfg)
    return cfg


def compose_validated(overrides: list[str] | tuple[str, ...] = ()) -> DictConfig:
    """Compose and validate; the result carries no ``hydra`` node."""
    return validate(compose(overrides))


def translate_hydra_error(err: Exception, overrides: list[str] | tuple[str, ...]) -> ConfigError:
    """One actionable paragraph for Hydra's composition errors."""
    text = str(err)
    missing_option = re.search(r"Could not find '([\w/]+)/([^']+)'", text) or re.search(
        r"In '[^']*': Could not find '([\w/]+)/([^']+)'", text
    )
    if missing_option:
        group, option = missing_option.group(1).split("/")[0], missing_option.group(2)
        if group in catalog.groups():
            choices = catalog.options(group)
            return ConfigError(
                f"Unknown {group} '{option}'.{suggest(option, choices)} "
                f"Available {group} options: {', '.join(choices)} (see 'dlwp list {group}')."
            )
    not_in_struct = re.search(r"Key '([^']+)' is not in struct", text)
    if not_in_struct or "Could not override" in text:
        key = _override_key_from_message(text, overrides)
        parent, _, leaf = key.rpartition(".")
        known = _known_keys(parent, overrides)
        return ConfigError(
            f"Unknown key '{key}'.{suggest(leaf, known)} "
            f"Valid keys{' under ' + parent if parent else ''}: {', '.join(sorted(known))}. "
            f"Use '+{key}=...' only to add a new key on purpose."
        )
    first = text.strip().splitlines()[0] if text.strip() else type(err).__name__
    return ConfigError(f"Cannot compose the configuration: {first}")


def _override_key_from_message(text: str, overrides) -> str:
    match = re.search(r"Could not override '([^']+)'", text) or re.search(r"full_key: (\S+)", text)
    if match:
        return match.group(1)
    return next((o.split("=")[0] for o in overrides if "=" in o), "?")


def _known_keys(parent: str, overrides) -> list[str]:
    group_choices = [o for o in overrides if "=" in o and o.split("=")[0] in catalog.groups()]
    try:
        cfg = compose(group_choices)
    except ConfigError:
        return []
    with open_dict(cfg):
        cfg.pop("hydra", None)
    node = OmegaConf.select(cfg, parent) if parent else cfg
    return list(node.keys()) if isinstance(node, DictConfig) else []
