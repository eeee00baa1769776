"""Precision policies and batch/learning-rate semantics under several replicas."""

from __future__ import annotations

import keras
import pytest

from dlwp_cli import pipeline
from dlwp_cli.config.compose import compose_validated
from dlwp_cli.training import runtime
from dlwp_cli.training.runtime import precision_policy, resolve_precision, scale_for_replicas


def test_precision_policy_is_restored_after_the_run():
    with precision_policy("mixed_bfloat16"):
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    assert keras.mixed_precision.global_policy().name == "float32"
    with pytest.raises(RuntimeError), precision_policy("mixed_float16"):
        raise RuntimeError("a failing job")
    assert keras.mixed_precision.global_policy().name == "float32"


def test_bfloat16_run_keeps_the_head_in_float32(tmp_path):
    cfg = compose_validated(["precision=mixed_bfloat16", "epochs=3", "output.console=false"])
    metrics = pipeline.run(cfg, tmp_path, choices={})
    model = keras.models.load_model(tmp_path / "model.keras")
    dtypes = {layer.name: layer.dtype_policy.name for layer in model.layers}
    assert dtypes["head"] == "float32" and set(dtypes.values()) == {"mixed_bfloat16", "float32"}
    assert metrics["precision"] == "mixed_bfloat16" and metrics["test"]["accuracy"] > 0.5
    assert keras.mixed_precision.global_policy().name == "float32"


@pytest.mark.parametrize(("batch", "rate", "expected"), [
    (False, False, (128, 0.001)), (True, False, (512, 0.001)), (True, True, (512, 0.004)), (False, True, (128, 0.004)),
])
def test_batch_and_learning_rate_scaling(batch, rate, expected):
    cfg = compose_validated(["batch_size=128", "optimizer.learning_rate=0.001",
                             f"strategy.scale_batch_with_replicas={batch}", f"strategy.scale_learning_rate={rate}"])
    scaled, info = scale_for_replicas(cfg, replicas=4)
    assert (scaled.batch_size, scaled.optimizer.learning_rate) == pytest.approx(expected)
    assert info["global_batch_size"] == expected[0] and info["per_replica_batch_size"] == expected[0] / 4
    assert info["replicas"] == 4


def test_cpu_bf16_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f amx_bf16 avx512_bf16 amx_tile\n")
    assert runtime.cpu_bf16_flags(cpuinfo) == ["avx512_bf16", "amx_bf16"]
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2\n")
    assert runtime.cpu_bf16_flags(cpuinfo) == []
    assert runtime.cpu_bf16_flags(tmp_path / "absent") == []


@pytest.mark.parametrize(("gpus", "cpu_flags", "expected"), [
    ([], ["amx_bf16"], "mixed_bfloat16"),
    ([], [], "float32"),
    ([(8, 0)], ["amx_bf16"], "mixed_float16"),
    ([(6, 1)], [], "float32"),
])
def test_auto_precision_follows_the_hardware(monkeypatch, gpus, cpu_flags, expected):
    monkeypatch.setattr(runtime, "_gpu_capabilities", lambda: gpus)
    monkeypatch.setattr(runtime, "cpu_bf16_flags", lambda: cpu_flags)
    assert resolve_precision("auto")[0] == expected
    assert resolve_precision("float32") == ("float32", "as configured")


def test_auto_precision_on_a_tpu_strategy_is_bfloat16():
    class TPUStrategy:  # only the strategy's type name is read
        pass

    assert resolve_precision("auto", TPUStrategy())[0] == "mixed_bfloat16"


def test_auto_precision_run_records_what_ran(tmp_path, monkeypatch):
    monkeypatch.setattr(runtime, "cpu_bf16_flags", lambda: ["amx_bf16"])
    monkeypatch.setattr(runtime, "_gpu_capabilities", lambda: [])
    cfg = compose_validated(["precision=auto", "epochs=1", "output.console=false"])
    metrics = pipeline.run(cfg, tmp_path, choices={})
    assert metrics["performance"]["precision"] == "mixed_bfloat16"
    assert metrics["performance"]["precision_requested"] == "auto"
