"""Load a trained model from a run folder, with the Keras classes it may contain registered first."""

from __future__ import annotations

import importlib
from pathlib import Path

from dlwp_cli.errors import OutputError
from dlwp_cli.run_folder import CONFIG, MODEL


def register_custom_objects() -> None:
    """Define and register the Keras classes dlwp models may contain (subclassed bodies, the
    overridden train_step wrapper, custom metrics, preprocessing layers)."""
    import dlwp_cli.training.custom_step  # noqa: F401
    import dlwp_tasks.layers  # noqa: F401
    import dlwp_tasks.models.backbone_layers  # noqa: F401
    import dlwp_tasks.models.gan_model  # noqa: F401
    import dlwp_tasks.models.language_model  # noqa: F401
    import dlwp_tasks.models.transformer_layers  # noqa: F401
    import dlwp_tasks.models.vae_model  # noqa: F401
    import dlwp_tasks.series_layers  # noqa: F401
    import dlwp_tasks.metrics  # noqa: F401
    from dlwp_tasks.models import dense, tickets
    from dlwp_tasks.models import text as text_models

    dense.DenseStack, tickets.CustomerTicketModel  # noqa: B018 - defined (and registered) on first access
    text_models.register_layers()


def _targets(node) -> list[str]:
    if isinstance(node, dict):
        found = [str(node["_target_"])] if "_target_" in node else []
        return found + [t for value in node.values() for t in _targets(value)]
    if isinstance(node, list):
        return [t for value in node for t in _targets(value)]
    return []


def import_run_modules(run_dir: Path) -> None:
    """Import the module of every ``_target_`` a run's config.yaml names (a user's model, optimizer or
    layers), so the Keras classes they register are known; a module that cannot be imported is skipped."""
    config = Path(run_dir) / CONFIG
    if not config.is_file():
        return
    from omegaconf import OmegaConf

    for target in _targets(OmegaConf.to_container(OmegaConf.load(config))):
        try:
            importlib.import_module(target.rpartition(".")[0])
        except Exception:  # noqa: BLE001 - best effort: loading names what is still missing
            continue


def load_model(path: str | Path, compile: bool = True):
    """The model of a run folder (or a ``.keras`` file); ``compile=False`` skips the optimizer and losses."""
    import keras

    path = Path(path)
    if path.is_dir():
        import_run_modules(path)
        path = path / MODEL
    if not path.is_file():
        raise OutputError(f"No trained model at '{path}': the run did not finish, or ran with output.save_model=false.")
    register_custom_objects()
    return keras.models.load_model(path, compile=compile)
