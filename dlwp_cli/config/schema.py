"""Typed schema of a composed run configuration (OmegaConf structured configs).

The YAML files hold every default; fields here are ``MISSING`` unless the YAML may leave them out.
The pluggable parts are ``_target_`` specs, typed by what they name (see validate.py): ``model`` by its
body dataclass, ``trainer`` by its mode dataclass, ``optimizer``, ``strategy`` and ``task.dataset`` by the
signature of the class or function. ``callbacks`` maps names to ``_target_`` specs.
A task may carry keys of its own beyond ``TaskSpec`` (``task.path``, ``task.label`` of ``csv``): its YAML
declares them, and Hydra rejects any other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import MISSING


@dataclass
class FeatureSpec:
    encoding: str = "dense"           # dense | multi_hot
    num_tokens: Optional[int] = None  # multi_hot width
    scale: Optional[float] = None     # divide raw values by this
    standardize: bool = False         # subtract the training mean, divide by the training std


@dataclass
class HeadSpec:
    units: int = MISSING
    activation: Optional[str] = None


@dataclass
class SizeSpec:
    train: int = MISSING              # training examples (before any hold-out)
    test: int = 0


@dataclass
class TaskSpec:
    name: str = MISSING
    dataset: Any = MISSING            # _target_ spec: the dataset callable and its parameters
    synthetic: Any = None             # _target_ spec of random data of the real shapes (source=synthetic)
    size: Optional[SizeSpec] = None   # known split sizes, for up-front checks (None: read from the data)
    input_kinds: list[str] = MISSING
    features: FeatureSpec = field(default_factory=FeatureSpec)
    labels: str = MISSING             # index | one_hot | value | auto / inferred (the dataset decides) | none
    head: Optional[HeadSpec] = None   # the output layer; or, for several outputs:
    outputs: Optional[dict[str, HeadSpec]] = None
    loss: Any = MISSING               # a Keras loss name; a dict of them per output; auto: by the data
    metrics: Any = None               # names or _target_ specs; a dict of lists per output
    epochs: int = MISSING
    batch_size: int = MISSING
    dense_units: list[int] = field(default_factory=list)
    callbacks: dict[str, Any] = field(default_factory=dict)  # callbacks the task's defaults rely on
    predict_inputs: Any = None        # _target_ reading files for `dlwp predict` (None: .npy arrays)


@dataclass
class TransformSpec:
    extra_channels: int = MISSING         # features appended to every example (ch. 5)
    extra_channels_fill: str = MISSING    # noise (uniform in [0, 1)) | zeros
    shuffle_labels: bool = MISSING        # shuffle the training labels (memorization study, ch. 5)


@dataclass
class PerformanceSpec:
    steps_per_execution: int = MISSING
    jit_compile: Any = MISSING        # auto | true | false
    prefetch: bool = MISSING


@dataclass
class OutputSpec:
    save_model: bool = MISSING
    plots: bool = MISSING
    tensorboard: bool = MISSING
    predict_samples: int = MISSING
    console: bool = MISSING


@dataclass
class TargetSpec:
    metric: str = MISSING
    book: Optional[float] = None      # None where the book states a behaviour but no number
    band: Optional[list[float]] = None  # None: the figure must only be present (e.g. a logged metric)
    ref: str = ""
    # Where the book's statement is known not to reproduce here: {seeds, values, reason}; the band stays the book's.
    deviation: Optional[dict[str, Any]] = None
    # A score the book reached with pretrained weights: not compared when the run starts from random ones.
    pretrained: bool = False


@dataclass
class ObjectiveSpec:
    metric: str = "val_loss"          # a validation metric the run logs (sweeps and tuning optimise it)
    direction: str = "min"            # min | max


@dataclass
class RunSpec:
    experiment: Optional[str] = MISSING
    name: str = MISSING
    seed: int = MISSING
    deterministic: bool = MISSING
    precision: str = MISSING          # float32 | mixed_float16 | mixed_bfloat16 | auto
    epochs: int = MISSING
    batch_size: int = MISSING
    data_dir: Optional[str] = MISSING
    download: bool = MISSING
    source: str = MISSING             # real | synthetic
    smoke: bool = False               # debug=smoke: synthetic data, random pretrained weights, a few batches
    task: TaskSpec = MISSING
    transforms: TransformSpec = MISSING
    model: Any = MISSING              # _target_: a model body dataclass
    augmentation: Any = None          # image augmentation layers before the model body (flip, rotation, zoom)
    optimizer: Any = MISSING          # _target_: a keras.optimizers class
    callbacks: dict[str, Any] = field(default_factory=dict)
    strategy: Any = MISSING           # _target_: a strategy factory
    trainer: Any = MISSING            # _target_: a trainer mode dataclass
    performance: PerformanceSpec = MISSING
    output: OutputSpec = MISSING
    targets: list[TargetSpec] = field(default_factory=list)
    search_space: dict[str, Any] = field(default_factory=dict)  # config key -> sweep expression (search_space.py)
    objective: ObjectiveSpec = field(default_factory=ObjectiveSpec)
    tuner: Any = None                 # the tuner group (dlwp tune): which KerasTuner search and its settings


# Closed sets of values of the core schema (the pluggable parts check their own fields).
CHOICES: dict[str, tuple[str, ...]] = {
    "source": ("real", "synthetic"),
    "precision": ("float32", "mixed_float16", "mixed_bfloat16", "auto"),
    "task.labels": ("index", "one_hot", "value", "auto", "inferred", "none"),
    "task.features.encoding": ("dense", "multi_hot"),
    "transforms.extra_channels_fill": ("noise", "zeros"),
    "objective.direction": ("min", "max"),
}

# Keys of the strategy node that are run settings, not arguments of the strategy factory.
STRATEGY_RUN_KEYS = ("scale_batch_with_replicas", "scale_learning_rate", "checkpoint_dir")
