"""Per-run numeric settings: the precision policy and its loss scaling, and batch size / learning rate under
several replicas."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import keras
import tensorflow as tf
from omegaconf import DictConfig, OmegaConf


BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of CPUs with bfloat16 arithmetic units
FLOAT16_MIN_CAPABILITY = (7, 0)               # GPUs with tensor cores (Volta and later)


def cpu_bf16_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> list[str]:
    """The bfloat16 instruction flags this CPU reports (empty where unknown, e.g. outside Linux)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return []
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return [flag for flag in BF16_CPU_FLAGS if flag in flags]


def _gpu_capabilities() -> list[tuple[int, int]]:
    capabilities = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        capabilities.append(tuple(details.get("compute_capability") or (0, 0)))
    return capabilities


def resolve_precision(name: str, strategy=None) -> tuple[str, str]:
    """(the policy to run, why) for ``precision=NAME``: ``auto`` is mixed_bfloat16 on TPUs and on CPUs with bf16
    units, mixed_float16 on GPUs with tensor cores, else float32; any other name runs as given."""
    if name != "auto":
        return name, "as configured"
    if strategy is not None and "TPU" in type(strategy).__name__:
        return "mixed_bfloat16", "TPU"
    capabilities = _gpu_capabilities()
    if capabilities:
        if min(capabilities) >= FLOAT16_MIN_CAPABILITY:
            return "mixed_float16", f"GPU with compute capability {'.'.join(map(str, min(capabilities)))}"
        return "float32", "GPU without tensor cores"
    flags = cpu_bf16_flags()
    if flags:
        return "mixed_bfloat16", f"CPU with {', '.join(flags)}"
    return "float32", "CPU without bfloat16 units"


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


def _divided(gradient, scale):
    """``gradient / scale`` computed in float32 (a scale of 2**16 or more is inf in float16); None stays None."""
    if gradient is None:
        return None
    if isinstance(gradient, tf.IndexedSlices):
        return tf.IndexedSlices(_divided(gradient.values, scale), gradient.indices, gradient.dense_shape)
    return tf.cast(tf.cast(gradient, tf.float32) / tf.cast(scale, tf.float32), gradient.dtype)


def _agreed(gradients: list) -> list:
    """Under several replicas, every replica's gradients made non-finite when any replica's are.

    The ``LossScaleOptimizer`` decides whether to skip a step from the first local replica's own (not yet
    summed) gradients, so a replica that overflowed alone would be summed into the update (Mirrored), or
    workers would disagree and only some would join the update's all-reduce (MultiWorkerMirrored: a hang).
    One scalar all-reduce makes every replica skip together, as one device would.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return gradients
    present = [g.values if isinstance(g, tf.IndexedSlices) else g for g in gradients if g is not None]
    finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in present])
    overflowed = context.all_reduce("sum", 1.0 - tf.cast(finite, tf.float32))
    poison = tf.where(overflowed > 0, float("nan"), 0.0)

    def poisoned(g):
        if g is None:
            return None
        if isinstance(g, tf.IndexedSlices):
            return tf.IndexedSlices(poisoned(g.values), g.indices, g.dense_shape)
        return g + tf.cast(poison, g.dtype)

    return [poisoned(g) for g in gradients]


def apply_scaled_gradients(tape: tf.GradientTape, loss, weights: list, optimizer) -> list:
    """Differentiate ``loss`` (computed under ``tape``) with respect to ``weights`` and let ``optimizer`` apply
    the gradients; return them, unscaled. Call it after the ``with tape:`` block.

    Under ``precision=mixed_float16`` ``model.compile`` wraps the optimizer in Keras's dynamic
    ``LossScaleOptimizer``, which expects the gradients *of the scaled loss*: this takes them of
    ``optimizer.scale_loss(loss)`` (loss times the current scale, 2**15 at first), so that small float16
    gradients do not flush to zero. ``apply_gradients`` then divides them by the scale, and skips the update
    and halves the scale when any is inf or NaN (the scale doubles after every 2,000 finite steps), as in
    Keras's own ``train_step``; under several replicas, all of them skip when any one overflowed. The
    returned gradients are non-finite for a skipped step. Any other optimizer gets the plain gradients.
    A step of one's own (a VAE's, a GAN's two updates) calls this once per loss and optimizer instead of
    ``tape.gradient`` + ``apply_gradients``.
    """
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        # The scale as it is before apply_gradients updates it. Seeding backprop with it is the gradient of
        # the scaled loss (d(s * loss)/dw = s * dloss/dw), and works after the tape has stopped recording.
        scale = tf.cast(optimizer.scale_loss(tf.ones([], loss.dtype)), loss.dtype)
        gradients = _agreed(tape.gradient(loss, weights, output_gradients=scale))
        optimizer.apply_gradients(zip(gradients, weights))
        return [_divided(g, scale) for g in gradients]
    gradients = tape.gradient(loss, weights)
    optimizer.apply_gradients(zip(gradients, weights))
    return gradients


def loss_scale(model) -> float | None:
    """The current dynamic loss scale of ``model``'s optimizer (a ``LossScaleOptimizer``, as ``compile`` makes
    it under ``mixed_float16``), or None when it has none or the model is None."""
    optimizer = getattr(model, "optimizer", None)
    if not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return None
    if not optimizer.built:
        return float(optimizer.initial_scale)
    return float(keras.ops.convert_to_numpy(optimizer.dynamic_scale))


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
