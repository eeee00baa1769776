"""Typed schema of a composed run configuration (OmegaConf structured configs).

The ``model`` node is typed by its own ``_target_`` dataclass (see validate.py);
``callbacks`` maps names to ``_target_`` specs and is checked when instantiated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass
class DatasetSpec:
    name: str = "???"
    params: dict[str, Any] = field(default_factory=dict)
    synthetic: dict[str, int] = field(default_factory=lambda: {"n_train": 512, "n_test": 128})


@dataclass
class FeatureSpec:
    encoding: str = "dense"           # dense | multi_hot
    num_tokens: Optional[int] = None  # multi_hot width
    scale: Optional[float] = None     # divide raw values by this
    standardize: bool = False         # subtract the training mean, divide by the training std


@dataclass
class HeadSpec:
    units: int = "???"  # type: ignore[assignment]
    activation: Optional[str] = None


@dataclass
class TaskSpec:
    name: str = "???"
    dataset: DatasetSpec = field(default_factory=DatasetSpec)
    input_kinds: list[str] = field(default_factory=lambda: ["vector"])
    features: FeatureSpec = field(default_factory=FeatureSpec)
    labels: str = "index"             # index | one_hot | value
    head: Optional[HeadSpec] = None   # the output layer; or, for several outputs:
    outputs: Optional[dict[str, HeadSpec]] = None
    loss: Any = "???"                 # a Keras loss name; a dict of them per output
    metrics: Any = None               # names or _target_ specs; a dict of lists per output
    epochs: int = 1
    batch_size: int = 32
    dense_units: list[int] = field(default_factory=list)


@dataclass
class TransformSpec:
    extra_channels: int = 0           # features appended to every example (ch. 5)
    extra_channels_fill: str = "noise"  # noise (uniform in [0, 1)) | zeros
    shuffle_labels: bool = False      # shuffle the training labels (memorization study, ch. 5)


@dataclass
class OptimizerSpec:
    name: str = "rmsprop"
    learning_rate: float = 1e-3
    momentum: Optional[float] = None


@dataclass
class StrategySpec:
    name: str = "auto"                # auto | cpu | one_device | mirrored | multi_worker | tpu
    device: Optional[str] = None
    devices: Optional[list[str]] = None
    logical_cpus: Optional[int] = None
    workers: Optional[list[str]] = None   # multi_worker without TF_CONFIG: host:port of every worker
    task_index: int = 0                   # multi_worker: this machine's place in ``workers``
    checkpoint_dir: Optional[str] = None  # multi_worker: folder every worker restores from (the chief saves there)
    tpu: Optional[str] = None             # tpu: name or grpc:// address (None: local TPU or TPU_NAME)
    scale_batch_with_replicas: bool = False  # true: batch_size is per replica (global = batch_size x replicas)
    scale_learning_rate: bool = False        # true: learning rate x replicas (linear scaling rule)


@dataclass
class TrainerSpec:
    mode: str = "fit"                 # fit | kfold | random_baseline | custom_loop | scratch
    validation_size: float = 0
    validation_from: str = "first"    # first | last | random
    folds: int = 4
    shuffle_folds: bool = False
    validate_each_epoch: bool = False
    shuffle: bool = True
    evaluate_test: bool = True
    limit_batches: Optional[int] = None
    compiled: bool = True             # custom_loop/scratch: steps as tf.function graphs (false: eager)
    update: str = "optimizer"         # scratch: optimizer (the optimizer group) | manual_sgd (w -= lr * g)
    custom_train_step: bool = False   # fit: run the book's overridden train_step (listing 7.26)


@dataclass
class PerformanceSpec:
    steps_per_execution: int = 1
    jit_compile: Any = "auto"         # auto | true | false
    cache: bool = True
    prefetch: bool = True


@dataclass
class OutputSpec:
    save_model: bool = True
    plots: bool = True
    tensorboard: bool = True
    predict_samples: int = 10
    console: bool = True


@dataclass
class TargetSpec:
    metric: str = "???"
    book: Optional[float] = None      # None where the book states a behaviour but no number
    band: Optional[list[float]] = None
    ref: str = ""


@dataclass
class RunSpec:
    experiment: Optional[str] = None
    name: str = "run"
    seed: int = 42
    deterministic: bool = False
    precision: str = "float32"        # float32 | mixed_float16 | mixed_bfloat16
    epochs: int = 1
    batch_size: int = 32
    data_dir: Optional[str] = None
    download: bool = True
    source: str = "real"              # real | synthetic
    task: TaskSpec = field(default_factory=TaskSpec)
    transforms: TransformSpec = field(default_factory=TransformSpec)
    model: Any = None
    optimizer: OptimizerSpec = field(default_factory=OptimizerSpec)
    callbacks: dict[str, Any] = field(default_factory=dict)
    strategy: StrategySpec = field(default_factory=StrategySpec)
    trainer: TrainerSpec = field(default_factory=TrainerSpec)
    performance: PerformanceSpec = field(default_factory=PerformanceSpec)
    output: OutputSpec = field(default_factory=OutputSpec)
    targets: list[TargetSpec] = field(default_factory=list)


CHOICES: dict[str, tuple[str, ...]] = {
    "source": ("real", "synthetic"),
    "precision": ("float32", "mixed_float16", "mixed_bfloat16"),
    "task.labels": ("index", "one_hot", "value"),
    "task.features.encoding": ("dense", "multi_hot"),
    "transforms.extra_channels_fill": ("noise", "zeros"),
    "strategy.name": ("auto", "cpu", "one_device", "mirrored", "multi_worker", "tpu"),
    "trainer.mode": ("fit", "kfold", "random_baseline", "custom_loop", "scratch"),
    "trainer.update": ("optimizer", "manual_sgd"),
    "trainer.validation_from": ("first", "last", "random"),
}
