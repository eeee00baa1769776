"""Build and compile a model from the config, inside the strategy's scope."""

from __future__ import annotations

import inspect

import keras
from hydra.utils import get_class, get_object
from omegaconf import DictConfig, OmegaConf

from dlwp_cli.errors import ConfigError
from dlwp_cli.training.custom_step import with_custom_train_step
from dlwp_cli.training.inputs import in_pipeline
from dlwp_cli.training.metrics import resolve_metrics
from dlwp_tasks.models.head import Head

def make_optimizer(spec: DictConfig) -> keras.optimizers.Optimizer:
    """The optimizer ``spec._target_`` names (any ``keras.optimizers`` class, or a user's class or factory),
    with its arguments."""
    kwargs = {k: v for k, v in OmegaConf.to_container(spec, resolve=True).items() if k != "_target_" and v is not None}
    try:
        return get_object(spec._target_)(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"optimizer {spec._target_} does not accept {kwargs}: {err}") from None


def model_body(spec: DictConfig, smoke: bool = False):
    """The model body dataclass instance named by ``model._target_``; ``smoke`` (debug=smoke) starts a body with
    pretrained ``weights`` from random ones."""
    fields = {k: v for k, v in OmegaConf.to_container(spec, resolve=True).items() if k != "_target_"}
    if smoke and fields.get("weights") is not None:
        fields["weights"] = None
    return get_class(spec._target_)(**fields)


def with_augmentation(body: keras.Model, spec) -> keras.Model:
    """``Input -> augmentation -> body`` (the book's ``data_augmentation`` first), or ``body`` for none."""
    from dlwp_tasks.models.augmentation import augmentation_model

    augment = augmentation_model(OmegaConf.to_container(spec, resolve=True) if spec is not None else None)
    if augment is None:
        return body
    inputs = keras.Input(shape=body.input_shape[1:], name="image")
    return keras.Model(inputs, body(augment(inputs)), name=body.name)


def steps_per_execution(cfg: DictConfig, replicas: int) -> int:
    """The configured steps_per_execution, or 1 with several replicas.

    Keras 3 cannot run several steps per call under MirroredStrategy (keras-team/keras#19246:
    "You must feed a value for placeholder tensor"), so multi-replica runs take one step per call.
    """
    return 1 if replicas > 1 else int(cfg.performance.steps_per_execution)


def heads(task: DictConfig) -> Head | dict[str, Head]:
    """The task's output head, or its named heads for multi-output tasks."""
    if task.outputs:
        return {name: Head(int(spec.units), spec.activation) for name, spec in task.outputs.items()}
    return Head(int(task.head.units), task.head.activation)


def with_pre_and_postprocessing(body: keras.Model, data) -> keras.Model:
    """``preprocessing -> body -> postprocessing`` as one model taking the raw inputs, so that a saved model
    takes raw rows, strings or pixels."""
    def fresh(tensor):
        return keras.Input(shape=tensor.shape[1:], dtype=tensor.dtype, name=tensor.name)

    raw = data.preprocessing.inputs
    inputs = {tensor.name: fresh(tensor) for tensor in raw} if isinstance(data.x_train, dict) else fresh(raw[0])
    outputs = body(data.preprocessing(inputs))
    if data.postprocessing is not None:
        outputs = data.postprocessing(outputs)
    return keras.Model(inputs, outputs, name=body.name)


class PipelineFed(keras.Model):
    """The network trained on what the input pipeline's preprocessing gives (vectorised text), saved as the
    raw-input model ``preprocessing -> network``: model.keras, checkpoints and ``dlwp predict`` take raw inputs.
    Fitting, evaluating and predicting in the run go through the network."""

    def __init__(self, network: keras.Model, preprocessing: keras.Model, **kwargs):
        super().__init__(name=kwargs.pop("name", network.name), **kwargs)
        self.network = network
        # Set past Keras's attribute tracking: the preprocessing is no sublayer (neither counted nor trained).
        object.__setattr__(self, "preprocessing", preprocessing)
        self.built = network.built

    def call(self, inputs, training=False):
        return self.network(inputs, training=training)

    def raw_input_model(self) -> keras.Model:
        """``Input(raw) -> preprocessing -> network`` (the same layers and weights), compiled as this model."""
        inputs = _fresh_input(self.preprocessing.inputs[0])
        model = keras.Model(inputs, self.network(self.preprocessing(inputs)), name=self.name)
        if self.compiled:
            model.compile_from_config(self.get_compile_config())
        return model

    def save(self, filepath, *args, **kwargs):
        return self.raw_input_model().save(filepath, *args, **kwargs)


def _fresh_input(tensor) -> keras.KerasTensor:
    return keras.Input(shape=tensor.shape[1:], dtype=tensor.dtype, name=tensor.name)


def with_postprocessing(body: keras.Model, data) -> keras.Model:
    """``body -> postprocessing`` as one model, or ``body`` when the dataset has no postprocessing."""
    if data.postprocessing is None:
        return body
    inputs = _fresh_input(body.inputs[0])
    return keras.Model(inputs, data.postprocessing(body(inputs)), name=body.name)


def body_parameters(model: keras.Model, data) -> int:
    """``count_params()`` of the trained network without the preprocessing layers (so book counts compare)."""
    parts = (data.postprocessing,) if in_pipeline(data) else (data.preprocessing, data.postprocessing)
    extra = sum(int(part.count_params()) for part in parts if part is not None and part.built)
    return int(model.count_params()) - extra


def vocabulary(preprocessing) -> list[str] | None:
    """The vocabulary of the first layer of ``preprocessing`` that has one (a TextVectorization), else None."""
    for layer in getattr(preprocessing, "layers", []):
        if hasattr(layer, "get_vocabulary"):
            return list(layer.get_vocabulary())
    return None


def build_body(body, input_shape, head, data):
    """``body.build(input_shape, head)``; a body whose ``build`` also takes ``vocabulary`` (pretrained word
    vectors, a language model) gets the words of the task's vectorizer, or of its token ids."""
    if "vocabulary" in inspect.signature(body.build).parameters:
        words = vocabulary(getattr(data, "preprocessing", None)) or getattr(data, "vocabulary", None)
        return body.build(input_shape, head, vocabulary=words)
    return body.build(input_shape, head)


def build_model(cfg: DictConfig, data, replicas: int = 1) -> keras.Model:
    """Body + head (+ the dataset's pre/postprocessing), compiled with the task's loss and metrics and the
    run's performance settings."""
    head = heads(cfg.task)
    input_shape = data.input_shape
    try:
        shape = input_shape if isinstance(input_shape, dict) else tuple(input_shape)
        model = build_body(model_body(cfg.model, cfg.get("smoke", False)), shape, head, data)
    except ValueError as err:
        raise ConfigError(
            f"Model '{cfg.model._target_}' cannot be built for task '{cfg.task.name}' inputs of shape "
            f"{input_shape}: {str(err).splitlines()[0]}"
        ) from None
    if getattr(data, "input_kind", None) == "image":
        model = with_augmentation(model, cfg.get("augmentation"))
    if getattr(data, "preprocessing", None) is not None and in_pipeline(data):
        if cfg.trainer.get("custom_train_step"):
            raise ConfigError(f"trainer.custom_train_step is not available for task '{cfg.task.name}', whose "
                              "preprocessing runs in the input pipeline: set trainer.custom_train_step=false.")
        model = PipelineFed(with_postprocessing(model, data), data.preprocessing)
    elif getattr(data, "preprocessing", None) is not None:
        model = with_pre_and_postprocessing(model, data)
    if cfg.trainer.get("custom_train_step"):
        model = with_custom_train_step(model)
    compile_model(model, cfg, replicas)
    return model


def compile_model(model: keras.Model, cfg: DictConfig, replicas: int = 1, optimizer=None) -> None:
    """Compile with the task's loss and metrics and the run's performance settings; ``optimizer`` defaults to the
    configured one."""
    jit = cfg.performance.jit_compile
    model.compile(
        optimizer=optimizer if optimizer is not None else make_optimizer(cfg.optimizer),
        loss=OmegaConf.to_container(cfg.task.loss) if isinstance(cfg.task.loss, DictConfig) else cfg.task.loss,
        metrics=resolve_metrics(cfg.task.metrics),
        steps_per_execution=steps_per_execution(cfg, replicas),
        jit_compile=jit if isinstance(jit, bool) else "auto",
    )
