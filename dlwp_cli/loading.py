"""Load a trained model from a run folder, with dlwp's own Keras classes registered first."""

from __future__ import annotations

from pathlib import Path

from dlwp_cli.errors import OutputError
from dlwp_cli.run_folder import MODEL


def register_custom_objects() -> None:
    """Define and register the Keras classes dlwp models may contain (subclassed bodies, the
    overridden train_step wrapper, custom metrics)."""
    import dlwp_cli.training.custom_step  # noqa: F401
    import dlwp_tasks.metrics  # noqa: F401
    from dlwp_tasks.models import dense, tickets

    dense.DenseStack, tickets.CustomerTicketModel  # noqa: B018 - defined (and registered) on first access


def load_model(path: str | Path):
    """The model of a run folder (or a ``.keras`` file)."""
    import keras

    path = Path(path)
    if path.is_dir():
        path = path / MODEL
    if not path.is_file():
        raise OutputError(f"No trained model at '{path}': the run did not finish, or ran with output.save_model=false.")
    register_custom_objects()
    return keras.models.load_model(path)
