"""Per-run numeric settings: the precision policy, and batch size / learning rate under several replicas."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import keras
from omegaconf import DictConfig, OmegaConf


@contextmanager
def precision_policy(name: str) -> Iterator[None]:
    """Keras's global dtype policy for the run, back to float32 afterwards (so sweep jobs don't leak it).

    Output heads are built with dtype float32 under every policy, as the book recommends.
    """
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


def scale_for_replicas(cfg: DictConfig, replicas: int) -> tuple[DictConfig, dict]:
    """``batch_size`` is the global batch unless ``strategy.scale_batch_with_replicas`` makes it per replica;
    ``strategy.scale_learning_rate`` multiplies the learning rate by the replica count (linear scaling)."""
    batch = int(cfg.batch_size) * (replicas if cfg.strategy.scale_batch_with_replicas else 1)
    rate = float(cfg.optimizer.learning_rate) * (replicas if cfg.strategy.scale_learning_rate else 1)
    if batch != cfg.batch_size or rate != cfg.optimizer.learning_rate:
        cfg = OmegaConf.merge(cfg, {"batch_size": batch, "optimizer": {"learning_rate": rate}})
        OmegaConf.set_readonly(cfg, True)
    info = {"replicas": replicas, "global_batch_size": batch, "per_replica_batch_size": batch / replicas,
            "learning_rate": rate, "scale_batch_with_replicas": bool(cfg.strategy.scale_batch_with_replicas),
            "scale_learning_rate": bool(cfg.strategy.scale_learning_rate)}
    return cfg, info
