"""``SWEEP_DIR/multirun.yaml`` for every sweep, the record ``dlwp run -m resume=SWEEP_DIR`` reads.

Hydra's basic sweeper writes it; the Optuna sweeper does not. This Hydra callback (``hydra.callbacks`` in
``conf/config.yaml``) writes the same file, the sweep's composed config with Hydra's node (its overrides, its
sweeper and launcher), when any sweep starts, except while a sweep is being resumed: the record stays the
original sweep's.
"""

from __future__ import annotations

import os
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

RECORD = "multirun.yaml"
RESUMING = "DLWP_SWEEP_RESUME"  # set while `dlwp run -m resume=SWEEP_DIR` relaunches jobs


class SweepRecord(Callback):
    """Writes ``multirun.yaml`` into the sweep folder when a sweep starts."""

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        if os.environ.get(RESUMING):
            return
        from dlwp_cli.run_folder import write_atomic

        folder = Path(str(config.hydra.sweep.dir))
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / RECORD, OmegaConf.to_yaml(config))
