"""Strategy factory: which tf.distribute strategy each config builds, with devices mocked where needed."""

from __future__ import annotations

import json

import pytest
import tensorflow as tf
from omegaconf import OmegaConf

from dlwp_cli.errors import ConfigError
from dlwp_cli.training import strategy as factory


def spec(name="auto", **values):
    return OmegaConf.create({"_target_": f"dlwp_cli.training.strategy.{name}", **values})


def fake_gpus(monkeypatch, count):
    devices = [tf.config.PhysicalDevice(f"/physical_device:GPU:{i}", "GPU") for i in range(count)]
    real = tf.config.list_physical_devices
    monkeypatch.setattr(factory.tf.config, "list_physical_devices",
                        lambda kind=None: devices if kind == "GPU" else real(kind))


def test_auto_without_gpu_uses_the_default_strategy():
    assert factory.make_strategy(spec()) is tf.distribute.get_strategy()


def test_auto_with_two_gpus_mirrors(monkeypatch):
    fake_gpus(monkeypatch, 2)
    built = {}
    monkeypatch.setattr(factory.tf.distribute, "MirroredStrategy", lambda devices=None: built.setdefault("m", devices))
    factory.make_strategy(spec())
    assert "m" in built and built["m"] is None  # all visible GPUs


def test_one_device_prefers_the_first_gpu(monkeypatch):
    fake_gpus(monkeypatch, 1)
    monkeypatch.setattr(factory.tf.distribute, "OneDeviceStrategy", lambda device: device)
    assert factory.make_strategy(spec(name="one_device")) == "/gpu:0"


def test_one_device_on_cpu():
    built = factory.make_strategy(spec(name="one_device"))
    assert isinstance(built, tf.distribute.OneDeviceStrategy)
    assert factory.describe(built)["devices"][0].endswith("CPU:0")


def test_mirrored_with_listed_devices(monkeypatch):
    monkeypatch.setattr(factory.tf.distribute, "MirroredStrategy", lambda devices=None: devices)
    assert factory.make_strategy(spec(name="mirrored", devices=["/gpu:0", "/gpu:1"])) == ["/gpu:0", "/gpu:1"]


def test_unknown_strategy_is_a_config_error():
    from dlwp_cli.config.compose import compose_validated
    from dlwp_cli.config.validate import check_runtime_targets

    with pytest.raises(ConfigError, match="Unknown strategy 'tpuu'.*Did you mean 'tpu'"):
        compose_validated(["strategy=tpuu"])
    cfg = compose_validated(["strategy=mirrored", "+strategy.device_count=3"])
    with pytest.raises(ConfigError, match="takes no argument 'device_count'.*It takes: devices, logical_cpus"):
        check_runtime_targets(cfg)
    cfg = compose_validated(["strategy._target_=dlwp_cli.training.strategy.tpuu"])
    with pytest.raises(ConfigError, match="strategy._target_ 'dlwp_cli.training.strategy.tpuu' cannot be imported"):
        check_runtime_targets(cfg)


def test_logical_cpus_after_start_up_is_a_clear_error():
    tf.constant(1)  # the runtime is initialized now
    if len(tf.config.list_logical_devices("CPU")) >= 3:
        pytest.skip("this process already has 3 logical CPUs")
    with pytest.raises(ConfigError, match="before TensorFlow starts"):
        factory.make_strategy(spec(name="mirrored", logical_cpus=3))


def test_tpu_without_a_tpu_fails_fast(monkeypatch):
    import time

    monkeypatch.delenv("TPU_NAME", raising=False)
    monkeypatch.delenv("COLAB_TPU_ADDR", raising=False)
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="found no TPU"):
        factory.make_strategy(spec(name="tpu"))
    assert time.perf_counter() - started < 5


def test_tpu_with_an_address_builds_tpu_strategy(monkeypatch):
    calls = []
    monkeypatch.setattr(factory.tf.distribute.cluster_resolver, "TPUClusterResolver",
                        lambda tpu: calls.append(("resolver", tpu)) or "resolver")
    monkeypatch.setattr(factory.tf.config, "experimental_connect_to_cluster", lambda r: calls.append(("connect", r)))
    monkeypatch.setattr(factory.tf.tpu.experimental, "initialize_tpu_system", lambda r: calls.append(("init", r)))
    monkeypatch.setattr(factory.tf.distribute, "TPUStrategy", lambda r: ("TPUStrategy", r))
    built = factory.make_strategy(spec(name="tpu", tpu="grpc://10.0.0.2:8470"))
    assert built == ("TPUStrategy", "resolver")
    assert calls == [("resolver", "grpc://10.0.0.2:8470"), ("connect", "resolver"), ("init", "resolver")]


def test_unreachable_tpu_is_a_config_error(monkeypatch):
    def refuse(tpu):
        raise ValueError("Could not lookup TPU metadata")

    monkeypatch.setattr(factory.tf.distribute.cluster_resolver, "TPUClusterResolver", refuse)
    with pytest.raises(ConfigError, match="cannot reach the TPU 'my-tpu'"):
        factory.make_strategy(spec(name="tpu", tpu="my-tpu"))


def test_multi_worker_needs_a_cluster(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="needs a cluster"):
        factory.make_strategy(spec(name="multi_worker"))


def test_multi_worker_writes_tf_config_from_the_worker_list(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.setattr(factory.tf.distribute, "MultiWorkerMirroredStrategy",
                        lambda cluster_resolver: cluster_resolver)
    resolver = factory.make_strategy(spec(name="multi_worker", workers=["a:1", "b:2"], task_index=1))
    assert json.loads(factory.os.environ["TF_CONFIG"]) == {
        "cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}
    assert resolver.task_id == 1 and resolver.cluster_spec().as_dict() == {"worker": ["a:1", "b:2"]}
    monkeypatch.delenv("TF_CONFIG")


def test_several_workers_need_a_shared_checkpoint_folder(monkeypatch):
    from dlwp_cli.config.compose import compose_validated
    from dlwp_cli.config.validate import check_runtime_targets

    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1", "b:2"]},
                                                "task": {"type": "worker", "index": 1}}))
    with pytest.raises(ConfigError, match="needs strategy.checkpoint_dir=FOLDER"):
        check_runtime_targets(compose_validated(["strategy=multi_worker"]))
    check_runtime_targets(compose_validated(["strategy=multi_worker", "strategy.checkpoint_dir=/shared/ckpt"]))
    monkeypatch.delenv("TF_CONFIG")
    check_runtime_targets(compose_validated(["strategy=multi_worker"]))  # one worker: nothing to share
    with pytest.raises(ConfigError, match="needs strategy.checkpoint_dir"):
        check_runtime_targets(compose_validated(["strategy=multi_worker", "strategy.workers=[a:1,b:2]"]))
