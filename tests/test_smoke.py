"""Every experiment, and every task with one model per input kind it offers, runs under debug=smoke."""

from __future__ import annotations

import json

import pytest
from omegaconf import DictConfig, OmegaConf

from dlwp_cli import pipeline
from dlwp_cli.config import catalog
from dlwp_cli.config.compose import compose, compose_validated
from dlwp_cli.config.validate import model_class


def experiment_pairs() -> set[tuple[str, str]]:
    """The (task, model) pairs that experiments choose in their own defaults list (``override /task: ...``)."""
    pairs = set()
    for experiment in catalog.options("experiment"):
        chosen = {}
        for entry in OmegaConf.load(catalog.find("experiment", experiment)).get("defaults") or []:
            if OmegaConf.is_dict(entry):
                chosen.update({key.removeprefix("override /"): value for key, value in entry.items()})
        if "task" in chosen and "model" in chosen:
            pairs.add((chosen["task"], chosen["model"]))
    return pairs


def representative_pairs() -> list[tuple[str, str]]:
    """For every task and each input kind it offers, one model that takes that kind (the general models before
    the from-scratch ``naive_*`` ones, which the chapter-2 experiments cover, and the pretrained backbone, which
    the chapter-8 experiments cover), unless an experiment already runs that task with that model."""
    models = sorted(catalog.model_targets().items(),
                    key=lambda item: (item[0].startswith("naive") or item[0] == "backbone", item[0]))
    pairs, covered = [], experiment_pairs()
    for task in catalog.options("task"):
        spec = compose([f"task={task}"]).task
        if spec.labels == "none":
            continue  # unlabelled (faces, a picture): only generative trainers read it, and their experiments run it
        for kind in spec.input_kinds:
            if task == "digits" and kind == "image":
                continue  # 8x8 images are too small for the convnets' three conv blocks
            fitting = [model for model, target in models if kind in model_class(target).input_kinds]
            if fitting and (task, fitting[0]) not in pairs and (task, fitting[0]) not in covered:
                pairs.append((task, fitting[0]))
    return pairs


PAIRS = representative_pairs()


def metric_names(metrics) -> set[str]:
    """The names Keras logs for the task's metrics (``output_metric`` for per-output metrics)."""
    if isinstance(metrics, DictConfig):
        return {f"{output}_{name}" for output, names in metrics.items() for name in names if isinstance(name, str)}
    return {name for name in metrics or [] if isinstance(name, str)}


def smoke(tmp_path, *overrides):
    cfg = compose_validated([*overrides, "debug=smoke", "output.console=false"])
    pipeline.run(cfg, tmp_path, choices={})
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["status"] == "completed" and saved["data"]["source"] in ("synthetic", "generated")
    return cfg, saved


def chapters(*numbers: str) -> list[str]:
    """The experiments of the given chapters (``chNN/...``)."""
    return [e for e in catalog.options("experiment") if e.split("/")[0] in {f"ch{n}" for n in numbers}]


# Each class is a scope of its own for pytest-xdist's --dist loadscope, so the smoke runs spread over the workers.
CHAPTER_GROUPS = [("02", "03", "04", "05", "06", "07"), ("08", "09"), ("10", "11"), ("12", "13", "14")]


def test_every_experiment_is_in_a_smoke_group():
    grouped = [e for group in CHAPTER_GROUPS for e in chapters(*group)]
    assert sorted(grouped) == sorted(catalog.options("experiment"))


class TestChapters2To7:
    @pytest.mark.parametrize("experiment", chapters(*CHAPTER_GROUPS[0]))
    def test_experiment_smoke(self, tmp_path, experiment):
        check_experiment_smoke(tmp_path, experiment)


class TestChapters8And9:
    @pytest.mark.parametrize("experiment", chapters(*CHAPTER_GROUPS[1]))
    def test_experiment_smoke(self, tmp_path, experiment):
        check_experiment_smoke(tmp_path, experiment)


class TestChapters10And11:
    @pytest.mark.parametrize("experiment", chapters(*CHAPTER_GROUPS[2]))
    def test_experiment_smoke(self, tmp_path, experiment):
        check_experiment_smoke(tmp_path, experiment)


class TestChapters12To14:
    @pytest.mark.parametrize("experiment", chapters(*CHAPTER_GROUPS[3]))
    def test_experiment_smoke(self, tmp_path, experiment):
        check_experiment_smoke(tmp_path, experiment)


def check_experiment_smoke(tmp_path, experiment):
    cfg, metrics = smoke(tmp_path, f"experiment={experiment}")
    assert metrics["experiment"] == experiment
    assert len(metrics["targets"]) == len(cfg.targets)
    if cfg.trainer._target_.endswith("KFold"):
        assert len(metrics["cv"]["folds"]) == cfg.trainer.folds
    elif cfg.trainer._target_.endswith("Fit"):
        assert metrics["steps_per_epoch"] <= 2 and len(metrics["history"]["loss"]) == 1
        assert (tmp_path / "model.keras").is_file()
    if cfg.trainer.evaluate_test:
        assert set(metrics["test"]) >= metric_names(cfg.task.metrics)
    for target in metrics["targets"]:  # the book's sizes hold on smoke data too (same architectures and shapes)
        band = target.get("band")
        if target["metric"].startswith("parameters") and band and band[0] == band[1] and not target.get("deviation"):
            assert target["measured"] == band[0], target


def needs_user_data(task: str) -> bool:
    """A user-data task (its dataset reads task.path): the all-tasks smoke test skips it without a path."""
    return "path" in compose([f"task={task}"]).task


@pytest.mark.parametrize(("task", "model"), PAIRS)
def test_task_model_pair_smoke(tmp_path, task, model):
    if needs_user_data(task):
        pytest.skip(f"task={task} reads the user's own file (task.path); tests/test_csv_task.py covers it")
    cfg, metrics = smoke(tmp_path, f"task={task}", f"model={model}")
    assert set(metrics["test"]) >= {"loss", *metric_names(cfg.task.metrics)}
