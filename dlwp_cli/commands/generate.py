"""``dlwp generate RUN_DIR [--prompt T --temperature X --length N | --samples N] [--seed S]``: more output from a
finished generative run.

What a run generates is its model body's ``generates``: ``images`` (a VAE, a GAN: ``--samples N`` decoded random
latent points, tiled into ``RUN_DIR/generated/<time>.png``, whose path is printed) or ``text`` (a language model:
the prompt as typed, then the sampled words, on stdout).
"""

from __future__ import annotations

import time
from pathlib import Path

from dlwp_cli.config.validate import model_class
from dlwp_cli.errors import ConfigError

GENERATED = "generated"


def what_it_generates(cfg) -> str | None:
    """``images``, ``text``, or None for a run (its config, a dict or DictConfig) whose model cannot generate."""
    try:
        return getattr(model_class(str(cfg["model"]["_target_"])), "generates", None)
    except (ConfigError, KeyError, TypeError):
        return None


def check_options(generates: str, prompt, temperature, length, samples) -> None:
    if temperature is not None and temperature <= 0:
        raise ConfigError(f"--temperature must be above 0 (1.0 samples the model's own probabilities; lower is more "
                          f"predictable, higher more surprising), got {temperature}.")
    if length is not None and length < 1:
        raise ConfigError(f"--length must be at least 1 word, got {length}.")
    if samples is not None and samples < 1:
        raise ConfigError(f"--samples must be at least 1, got {samples}.")
    if generates == "images" and (prompt is not None or temperature is not None or length is not None):
        raise ConfigError("This run generates images: give --samples N (and optionally --seed S), not --prompt, "
                          "--temperature or --length.")
    if generates == "text" and samples is not None:
        raise ConfigError("This run generates text: give --prompt \"...\" (with --temperature X --length N), "
                          "not --samples.")


def generate_images(run, model, samples: int, seed: int | None) -> Path:
    """``samples`` images from the run's model, tiled into one PNG under ``RUN_DIR/generated/``."""
    from dlwp_tasks.generative.images import save_png, tile

    images = model.generate_images(samples, seed)
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    folder = run.path / GENERATED
    path = folder / f"{stamp}.png"
    count = 1
    while path.exists():  # two calls within a second: never replace an earlier image
        count += 1
        path = folder / f"{stamp}_{count}.png"
    return save_png(tile(images), path)


def generate_command(run_dir: str, prompt: str | None = None, temperature: float | None = None,
                     length: int | None = None, samples: int | None = None, seed: int | None = None) -> int:
    from omegaconf import OmegaConf

    from dlwp_cli.deploy.finished_run import finished_run
    from dlwp_cli.run_folder import CONFIG

    config = Path(run_dir) / CONFIG
    if config.is_file():  # what the run's model can do decides, before whether it finished
        cfg = OmegaConf.load(config)
        if what_it_generates(cfg) is None:
            raise ConfigError(f"The run in '{run_dir}' ({cfg.get('experiment') or cfg.get('name')}: model "
                              f"{cfg.model._target_}) cannot generate: dlwp generate works on runs of generative "
                              "models (model=vae, model=dcgan, model=transformer_lm), e.g. "
                              "experiment=ch12/vae_mnist. A DeepDream or style-transfer run's picture is in its "
                              "folder already.")
    run = finished_run(run_dir, "generate")
    generates = what_it_generates(run.cfg)
    check_options(generates, prompt, temperature, length, samples)
    from dlwp_cli import console

    console.start_tensorflow_quietly()
    from dlwp_cli.loading import load_model

    model = load_model(run.path, compile=False)
    if generates == "images":
        print(generate_images(run, model, samples or 16, seed))
        return 0
    from dlwp_cli.commands.generate_text import generate_text

    print(generate_text(run, model, prompt, 1.0 if temperature is None else temperature,
                        50 if length is None else length, seed))
    return 0
