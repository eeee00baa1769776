"""Distribution strategy factory, keyed by ``strategy.name`` (TensorFlow's own runtime)."""

from __future__ import annotations

import tensorflow as tf
from omegaconf import DictConfig

from dlwp_cli.errors import ConfigError


def _split_cpu(count: int) -> list[str]:
    """Split the CPU into ``count`` logical devices (possible only before TensorFlow initializes)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if not current or len(current) < count:
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
        except RuntimeError:
            have = len(current) if current else 1
            raise ConfigError(
                f"strategy.logical_cpus={count} must be set before TensorFlow starts, and this process already "
                f"runs with {have} logical CPU device(s). Run it as a fresh 'dlwp run' process."
            ) from None
    return [d.name for d in tf.config.list_logical_devices("CPU")][:count]


def make_strategy(spec: DictConfig) -> tf.distribute.Strategy:
    """``auto`` | ``cpu`` | ``one_device`` | ``mirrored``; anything else is a ConfigError."""
    name = spec.name
    if name == "cpu":
        tf.config.set_visible_devices([], "GPU")
        return tf.distribute.OneDeviceStrategy("/cpu:0")
    gpus = tf.config.list_physical_devices("GPU")
    if name == "auto":
        # One device or none: TensorFlow's default strategy places ops itself, with no overhead.
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy(spec.device or ("/gpu:0" if gpus else "/cpu:0"))
    if name == "mirrored":
        if spec.devices:
            return tf.distribute.MirroredStrategy(devices=list(spec.devices))
        if gpus:
            return tf.distribute.MirroredStrategy()
        if spec.logical_cpus:
            return tf.distribute.MirroredStrategy(devices=_split_cpu(int(spec.logical_cpus)))
        return tf.distribute.MirroredStrategy(devices=["/cpu:0"])
    raise ConfigError(f"Unknown strategy '{name}'. Available: auto, cpu, one_device, mirrored.")


def describe(strategy: tf.distribute.Strategy) -> dict:
    """Strategy class, replica count and devices, for the run folder."""
    try:
        devices = list(strategy.extended.worker_devices)
    except RuntimeError:  # the default strategy: TensorFlow's own placement
        devices = [d.name for d in tf.config.list_logical_devices() if d.device_type in ("GPU", "CPU")][:1]
    return {"strategy": type(strategy).__name__, "replicas": strategy.num_replicas_in_sync, "devices": devices}
