"""``dlwp ensemble RUN_DIR... [--weights equal|optimized] [OVERRIDES...]``: the weighted average of finished
runs' predictions (book §13.1.2), in a run folder of its own, scored on test next to each member.

Members must be runs of one task with the same test split (checked by a hash of its labels). ``equal`` (the
default) averages them as they are; ``optimized`` fits non-negative weights summing to 1 on a validation split
they all share (the dataset's own, or the same trainer hold-out). OVERRIDES are values the members' saved
configs read again (``data_dir=PATH``, ``download=false``), and ``hydra.run.dir=PATH``, the ensemble's folder
(default ``outputs/ensemble/<date_time>``).
"""

from __future__ import annotations

import time
from pathlib import Path

from dlwp_cli.errors import ConfigError

USAGE = "dlwp ensemble RUN_DIR... [--weights equal|optimized] [OVERRIDES...]"
HELP = f"""\
usage: {USAGE}

Average the predictions of finished runs (book 13.1.2) into a run folder of its own, and score the ensemble
and each member on the test split they share.

  RUN_DIR...                 two or more finished run folders of the same task and test split; members may
                             read the data differently (their own encodings and preprocessing)
  --weights equal|optimized  equal: the plain mean (default); optimized: non-negative weights summing to 1,
                             fitted on the validation split the members share (by the task's loss)
  OVERRIDES                  values the members' saved configs read again: data_dir=PATH, download=false;
                             hydra.run.dir=PATH sets the ensemble's folder (default outputs/ensemble/<date_time>)

writes: config.yaml (members, weights) and metrics.json (test scores of the ensemble and of each member,
recomputed alike; validation scores where the members share a validation split)

examples:
  dlwp ensemble outputs/bow_unigram outputs/bow_bigram outputs/bow_tfidf data_dir=../shared/datasets
  dlwp ensemble runs/a runs/b --weights optimized hydra.run.dir=outputs/ensemble_ab
"""
DEFAULT_DIR = "outputs/ensemble"
WEIGHTINGS = ("equal", "optimized")


def parse(argv: list[str]) -> tuple[list[str], str, list[str], str | None] | None:
    """(run folders, weighting, value overrides, the ensemble's folder or None), or None for --help."""
    runs, overrides, weighting, run_dir = [], [], "equal", None
    words = list(argv)
    while words:
        word = words.pop(0)
        if word in ("-h", "--help"):
            return None
        if word == "--weights" or word.startswith("--weights="):
            value = word.partition("=")[2] if "=" in word else (words.pop(0) if words else "")
            if value not in WEIGHTINGS:
                raise ConfigError(f"--weights takes equal or optimized, got '{value}'.")
            weighting = value
        elif word.startswith("-"):
            raise ConfigError(f"dlwp ensemble: unknown option '{word}'. Usage: {USAGE}")
        elif Path(word).is_dir():
            runs.append(word)
        elif "=" in word:
            key, _, value = word.partition("=")
            if key == "hydra.run.dir":
                run_dir = value
            elif key.startswith(("hydra.", "+", "~")) or key == "hydra":
                raise ConfigError(f"dlwp ensemble takes hydra.run.dir=PATH and values of the members' configs, not "
                                  f"'{word}'.")
            else:
                overrides.append(word)
        else:
            raise ConfigError(f"'{word}' is not a run folder (no such directory). Usage: {USAGE}")
    if len(runs) < 2:
        raise ConfigError(f"An ensemble needs at least two finished runs, got {len(runs)}. Usage: {USAGE}")
    return runs, weighting, overrides, run_dir


def _check_own_folder(folder: Path) -> None:
    """The ensemble's folder may be new or an earlier ensemble's, never another run's."""
    from dlwp_cli.run_folder import CONFIG, read_metrics

    if (folder / CONFIG).is_file() and (read_metrics(folder) or {}).get("experiment") != "ensemble":
        raise ConfigError(f"'{folder}' holds another run: give the ensemble a folder of its own with "
                          "hydra.run.dir=PATH.")


def ensemble_command(argv: list[str]) -> int:
    parsed = parse(argv)
    if parsed is None:
        print(HELP)
        return 0
    run_dirs, weighting, overrides, run_dir = parsed
    from dlwp_cli.deploy.ensemble import check_same_task
    from dlwp_cli.deploy.finished_run import finished_run, with_values

    runs = [finished_run(path, "ensemble") for path in run_dirs]
    for run in runs:
        run.cfg = with_values(run.cfg, overrides, "ensemble")
    check_same_task(runs)
    folder = Path(run_dir or f"{DEFAULT_DIR}/{time.strftime('%Y-%m-%d_%H-%M-%S')}")
    _check_own_folder(folder)
    from dlwp_cli import console

    console.start_tensorflow_quietly()
    from dlwp_cli.deploy.ensemble_run import build, print_table, write_folder

    started = time.perf_counter()
    result = build(runs, weighting)
    write_folder(folder, result, overrides, time.perf_counter() - started)
    print_table(result, folder)
    return 0
