"""Distribution strategy factories (TensorFlow's own runtime); ``strategy._target_`` names one of them, or a
user's own function returning a ``tf.distribute.Strategy``."""

from __future__ import annotations

import glob
import json
import os

import tensorflow as tf
from omegaconf import DictConfig, OmegaConf

from dlwp_cli.config.schema import STRATEGY_RUN_KEYS
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


def _cluster_resolver(workers: list[str] | None, task_index: int):
    """TF_CONFIG from the environment, or written from ``strategy.workers`` and ``strategy.task_index``."""
    if workers and "TF_CONFIG" not in os.environ:
        os.environ["TF_CONFIG"] = json.dumps(
            {"cluster": {"worker": list(workers)}, "task": {"type": "worker", "index": int(task_index)}})
    if "TF_CONFIG" not in os.environ:
        raise ConfigError(
            "strategy=multi_worker needs a cluster: set TF_CONFIG (as 'dlwp launch' does), or give "
            "strategy.workers=[host1:port,host2:port] and strategy.task_index=N on each machine."
        )
    return tf.distribute.cluster_resolver.TFConfigClusterResolver()


def _tpu_strategy(name: str | None) -> tf.distribute.Strategy:
    """Connect to the TPU named by ``strategy.tpu`` (or the environment), or fail at once without one."""
    address = name or os.environ.get("TPU_NAME") or os.environ.get("COLAB_TPU_ADDR")
    if not address and not glob.glob("/dev/accel*") and not glob.glob("/dev/vfio/[0-9]*"):
        raise ConfigError(
            "strategy=tpu found no TPU: this machine has no TPU device and no address was given. "
            "Set strategy.tpu=<name or grpc://host:port> (or TPU_NAME), or choose strategy=auto."
        )
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address or "local")
        if address and address != "local":
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError) as err:
        raise ConfigError(f"strategy=tpu cannot reach the TPU '{address or 'local'}': {str(err).splitlines()[0]}") from None
    return tf.distribute.TPUStrategy(resolver)


def auto() -> tf.distribute.Strategy:
    """GPUs when present (``MirroredStrategy`` for several), else TensorFlow's default placement."""
    # One device or none: TensorFlow's default strategy places ops itself, with no overhead.
    gpus = tf.config.list_physical_devices("GPU")
    return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()


def cpu() -> tf.distribute.Strategy:
    """The CPU only, GPUs hidden."""
    tf.config.set_visible_devices([], "GPU")
    return tf.distribute.OneDeviceStrategy("/cpu:0")


def one_device(device: str | None = None) -> tf.distribute.Strategy:
    """One device: ``device``, else the first GPU, else the CPU."""
    gpus = tf.config.list_physical_devices("GPU")
    return tf.distribute.OneDeviceStrategy(device or ("/gpu:0" if gpus else "/cpu:0"))


def mirrored(devices: list[str] | None = None, logical_cpus: int | None = None) -> tf.distribute.Strategy:
    """``MirroredStrategy`` over ``devices``, else all GPUs, else ``logical_cpus`` logical CPU devices."""
    if devices:
        return tf.distribute.MirroredStrategy(devices=list(devices))
    if tf.config.list_physical_devices("GPU"):
        return tf.distribute.MirroredStrategy()
    if logical_cpus:
        return tf.distribute.MirroredStrategy(devices=_split_cpu(int(logical_cpus)))
    return tf.distribute.MirroredStrategy(devices=["/cpu:0"])


def multi_worker(workers: list[str] | None = None, task_index: int = 0) -> tf.distribute.Strategy:
    """``MultiWorkerMirroredStrategy`` over the cluster of TF_CONFIG, or of ``workers``."""
    return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=_cluster_resolver(workers, task_index))


def _cluster_size(spec: dict) -> int:
    """Workers (and chief) named by TF_CONFIG, else by ``workers``; 1 when neither says."""
    if os.environ.get("TF_CONFIG"):
        try:
            cluster = json.loads(os.environ["TF_CONFIG"]).get("cluster", {})
        except ValueError:
            raise ConfigError("TF_CONFIG is not valid JSON; see the README's 'Several workers'.") from None
        return len(cluster.get("worker", [])) + len(cluster.get("chief", []))
    return len(spec.get("workers") or []) or 1


def _check_multi_worker(spec: dict) -> None:
    """Several workers need one checkpoint folder they all read, so that a restarted group resumes."""
    if _cluster_size(spec) > 1 and not spec.get("checkpoint_dir"):
        raise ConfigError(
            "strategy=multi_worker on several workers needs strategy.checkpoint_dir=FOLDER, a folder every worker "
            "can read (a shared file system or a gs:// bucket): the chief saves each epoch there and every "
            "worker resumes from it. 'dlwp launch' sets it for local workers."
        )


multi_worker.check = _check_multi_worker  # called by the up-front checks with the strategy node


def tpu(tpu: str | None = None) -> tf.distribute.Strategy:  # noqa: F811 - the argument names the TPU
    """``TPUStrategy`` on the TPU named ``tpu`` (or by the environment); fails at once without one."""
    return _tpu_strategy(tpu)


def make_strategy(spec: DictConfig) -> tf.distribute.Strategy:
    """The strategy that ``spec._target_`` builds from the spec's factory arguments."""
    from hydra.utils import get_method

    arguments = {k: v for k, v in OmegaConf.to_container(spec, resolve=True).items()
                 if k != "_target_" and k not in STRATEGY_RUN_KEYS}
    return get_method(spec._target_)(**arguments)


def describe(strategy: tf.distribute.Strategy) -> dict:
    """Strategy class, replica count and devices, for the run folder."""
    try:
        devices = list(strategy.extended.worker_devices)
    except RuntimeError:  # the default strategy: TensorFlow's own placement
        devices = [d.name for d in tf.config.list_logical_devices() if d.device_type in ("GPU", "CPU")][:1]
    return {"strategy": type(strategy).__name__, "replicas": strategy.num_replicas_in_sync, "devices": devices}
