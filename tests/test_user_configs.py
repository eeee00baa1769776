"""User config dirs (--config-dir / hydra.searchpath) in every verb that composes configs: list, show, run
(--cfg, --info, the up-front check, glob sweeps, the args handed to Hydra), typo hints, and resume=."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dlwp_cli import run_folder
from dlwp_cli.config import catalog
from dlwp_cli.errors import ConfigError
from dlwp_cli.main import main

MINE = """\
# @package _global_
# My two-Gaussians run: the wide body, 3 epochs
defaults:
  - override /task: two_gaussians
  - override /model: wide

epochs: 3
"""

WIDE = """\
# One hidden layer of 8 units (mine)
_target_: dlwp_tasks.models.dense.DenseNet
units: [8]
"""


@pytest.fixture(autouse=True)
def packaged_search_path():
    """Every test starts and ends with the packaged tree alone (the search path is module state)."""
    catalog.set_search_path()
    yield
    catalog.set_search_path()


@pytest.fixture
def user_dir(tmp_path) -> Path:
    folder = tmp_path / "my_configs"
    (folder / "experiment").mkdir(parents=True)
    (folder / "model").mkdir()
    (folder / "experiment" / "mine.yaml").write_text(MINE)
    (folder / "model" / "wide.yaml").write_text(WIDE)
    return folder


def dlwp(*args, cwd, timeout=120):
    return subprocess.run([sys.executable, "-m", "dlwp_cli.main", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def _compact(text: str) -> str:
    return " ".join(text.split())


# -- the catalog over the search path -------------------------------------------------------------


def test_catalog_sees_the_config_dir_and_keeps_the_packaged_tree(user_dir):
    packaged = catalog.options("experiment")
    assert "mine" not in packaged and "wide" not in catalog.options("model")
    catalog.set_search_path(user_dir)
    assert "mine" in catalog.options("experiment") and "ch02/mnist_dense" in catalog.options("experiment")
    assert set(packaged) < set(catalog.options("experiment"))
    assert catalog.description("experiment", "mine") == "My two-Gaussians run: the wide body, 3 epochs"
    assert catalog.model_targets()["wide"] == "dlwp_tasks.models.dense.DenseNet"
    assert catalog.model_name_for_target("dlwp_tasks.models.dense.DenseNet") == "dense"  # packaged first
    assert catalog.get_search_path().sources() == ["pkg://dlwp_conf", f"file://{user_dir}"]
    catalog.set_search_path()
    assert "wide" not in catalog.model_targets() and catalog.options("experiment") == packaged


def test_relative_dirs_are_made_absolute(user_dir, monkeypatch):
    monkeypatch.chdir(user_dir.parent)
    assert catalog.set_search_path("my_configs").config_dir == user_dir
    overrides = catalog.configure(None, ["experiment=mine", "hydra.searchpath=[file://my_configs]"])
    assert overrides == ["experiment=mine", f"hydra.searchpath=[file://{user_dir}]"]
    assert catalog.get_search_path().searchpath == (f"file://{user_dir}",)
    assert "mine" in catalog.options("experiment")


def test_pkg_entries_and_user_groups(tmp_path, monkeypatch):
    package = tmp_path / "site" / "team_configs"
    (package / "experiment" / "team").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "experiment" / "team" / "baseline.yaml").write_text("# @package _global_\n# Team baseline\nepochs: 2\n")
    (package / "dataset").mkdir()
    (package / "dataset" / "local.yaml").write_text("# A user-only group\npath: x\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    catalog.set_search_path(searchpath=["pkg://team_configs"])
    assert "team/baseline" in catalog.options("experiment")
    assert catalog.description("experiment", "team/baseline") == "Team baseline"
    assert catalog.groups()[:6] == ["model", "task", "optimizer", "callbacks", "strategy", "trainer"]
    assert "dataset" in catalog.groups()


def test_missing_dirs_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="no such folder"):
        catalog.set_search_path(tmp_path / "nope")
    with pytest.raises(ConfigError, match="not a folder or an importable package"):
        catalog.set_search_path(searchpath=[f"file://{tmp_path}/nope"])
    with pytest.raises(ConfigError, match="given 2 times"):
        catalog.split_config_dir(["-cd", "a", "x=1", "--config-dir=b"])
    assert catalog.split_config_dir(["x=1", "--config-dir=a", "y=2"]) == ("a", ["x=1", "y=2"])


# -- dlwp list / show -----------------------------------------------------------------------------


def test_list_experiment_with_config_dir(user_dir, capsys):
    assert main(["list", "experiment", "--config-dir", str(user_dir)]) == 0
    out = _compact(capsys.readouterr().out)
    assert "mine" in out and "My two-Gaussians run: the wide body, 3 epochs" in out
    assert "ch02/mnist_dense" in out
    assert main(["list", "-cd", str(user_dir), "model"]) == 0
    out = capsys.readouterr().out
    assert "wide" in out and "One hidden layer of 8 units" in _compact(out) and "dense" in out


def test_list_marks_a_shadowed_user_option(user_dir, capsys):
    (user_dir / "model" / "dense.yaml").write_text(WIDE)
    assert main(["list", "model", "--config-dir", str(user_dir)]) == 0
    assert "not used" in _compact(capsys.readouterr().out)
    # Hydra 1.3 searches --config-dir after the packaged tree: the packaged dense wins, in compose too.
    assert catalog.find("model", "dense") == catalog.CONF_DIR / "model" / "dense.yaml"
    assert main(["show", "--config-dir", str(user_dir), "model=dense", "task=mnist"]) == 0
    out = capsys.readouterr().out
    assert "units: [512]" in out and "units: [8]" not in out


@pytest.mark.parametrize("where", ["flag_first", "flag_after", "searchpath"])
def test_show_user_experiment(user_dir, capsys, where):
    args = {
        "flag_first": ["--config-dir", str(user_dir), "experiment=mine"],
        "flag_after": ["experiment=mine", "model.units=[8,8]", "-cd", str(user_dir), "seed=3"],
        "searchpath": ["experiment=mine", f"hydra.searchpath=[file://{user_dir}]"],
    }[where]
    assert main(["show", *args]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "epochs: 3" in out and "two_gaussians" in out and "DenseNet" in out
    if where == "flag_after":
        assert "seed: 3" in out


def test_show_with_relative_searchpath(user_dir, capsys, monkeypatch):
    monkeypatch.chdir(user_dir.parent)
    assert main(["show", "experiment=mine", "hydra.searchpath=[file://my_configs]"]) == 0
    assert "epochs: 3" in capsys.readouterr().out


# -- typos ----------------------------------------------------------------------------------------


def test_option_typo_suggests_the_user_option(user_dir, capsys):
    assert main(["show", "experiment=mien", "--config-dir", str(user_dir)]) == 2
    err = _compact(capsys.readouterr().err)
    assert "Unknown experiment 'mien'" in err and "Did you mean 'mine'" in err


@pytest.mark.parametrize("override", ["optimzer.learning_rate=0.1", "optimzer=adam"])
def test_group_typo_suggests_the_group(override, capsys):
    assert main(["show", override]) == 2
    err = _compact(capsys.readouterr().err)
    assert "Unknown key 'optimzer'" in err and "Did you mean 'optimizer'" in err
    assert "Traceback" not in err


def test_run_typos_exit_2_without_a_run_folder(user_dir, tmp_path):
    result = dlwp("run", "experiment=mien", "--config-dir", str(user_dir), cwd=tmp_path)
    assert result.returncode == 2
    assert "Did you mean 'mine'" in _compact(result.stderr) and "Traceback" not in result.stderr
    result = dlwp("run", "optimzer.learning_rate=0.1", cwd=tmp_path)
    assert result.returncode == 2
    assert "Did you mean 'optimizer'" in _compact(result.stderr)
    assert not (tmp_path / "outputs").exists()


# -- dlwp run -------------------------------------------------------------------------------------


def test_run_cfg_job_prints_and_trains_nothing(user_dir, tmp_path):
    code = ("import sys; from dlwp_cli.main import main; "
            f"rc = main(['run', '--config-dir', {str(user_dir)!r}, 'experiment=mine', '--cfg', 'job']); "
            "assert rc == 0, rc; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TensorFlow imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    job = yaml.safe_load(result.stdout)
    assert job["epochs"] == 3 and job["model"]["units"] == [8] and job["task"]["name"] == "two_gaussians"
    assert "hydra" not in job
    assert not (tmp_path / "outputs").exists() and not list(tmp_path.rglob(".hydra"))


def test_run_info_and_cfg_with_package(user_dir, tmp_path):
    info = dlwp("run", "--info", "searchpath", "-cd", str(user_dir), cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    assert f"file://{user_dir}" in info.stdout
    plain = dlwp("run", "--info", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert not (tmp_path / "outputs").exists()


def test_run_parses_hydra_flags_anywhere(user_dir):
    from dlwp_cli.commands.run import parse_args

    parsed = parse_args(["experiment=mine", "--cfg", "hydra", "-p", "hydra.runtime", "-cd", str(user_dir), "seed=1"])
    assert (parsed.cfg, parsed.package, parsed.config_dir) == ("hydra", "hydra.runtime", str(user_dir))
    assert parsed.overrides == ["experiment=mine", "seed=1"] and parsed.prints_only
    assert parse_args(["--info", "x=1"]).info == "all" and parse_args(["x=1", "-i", "defaults"]).info == "defaults"
    assert parse_args(["a=1", "-m", "b=1,2"]).multirun
    for bad in (["--cfg", "jobs"], ["--cfg", "job", "-m"], ["--bogus"], ["--config-name", "x"], ["--resolve"]):
        with pytest.raises(ConfigError):
            parse_args(bad)


@pytest.fixture
def hydra_argv(monkeypatch):
    """Replace the Hydra app by a recorder of the command line it would get."""
    from dlwp_cli import app

    seen: list[list[str]] = []
    monkeypatch.setattr(app, "hydra_main", lambda: seen.append(list(sys.argv)))
    monkeypatch.setattr(app, "FAILED_JOBS", [])
    return seen


def test_run_prechecks_user_options_and_hands_config_dir_to_hydra(user_dir, hydra_argv, monkeypatch, tmp_path):
    from dlwp_cli.commands.run import run_command

    monkeypatch.chdir(tmp_path)
    assert run_command(["experiment=mine", "-cd", "my_configs", "model.units=[8,8]", "hydra.run.dir=run"]) == 0
    (argv,) = hydra_argv
    assert argv[1:3] == ["--config-dir", str(user_dir)]  # absolute, though given relative
    assert argv[3:] == ["experiment=mine", "model.units=[8,8]", "hydra.run.dir=run"]
    with pytest.raises(ConfigError, match="model.units"):  # the up-front check validates the user's model too
        run_command(["experiment=mine", "-cd", str(user_dir), "model.units=-1", "hydra.run.dir=run"])


def test_glob_sweeps_reach_user_options(user_dir, hydra_argv, tmp_path):
    from dlwp_cli.commands.run import expand_globs, run_command

    catalog.set_search_path(user_dir)
    assert expand_globs(["experiment=glob(mi*)"]) == ["experiment=mine"]
    assert "mine" in expand_globs(["experiment=glob(*)"])[0].split("=", 1)[1].split(",")
    assert run_command(["-m", "--config-dir", str(user_dir), "experiment=glob(mi*)", "model=glob(wid*)",
                        f"hydra.sweep.dir={tmp_path / 'sweep'}"]) == 0
    (argv,) = hydra_argv
    assert argv[1:4] == ["--config-dir", str(user_dir), "--multirun"]
    assert "experiment=mine" in argv and "model=wide" in argv


# -- resume= --------------------------------------------------------------------------------------


def test_a_user_config_run_resumes_without_its_config_dir(user_dir, tmp_path):
    """resume= continues from the run's saved config.yaml, which holds everything the user dir gave it."""
    run = tmp_path / "outputs" / "mine"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "dlwp_cli.main", "run"]
    first = subprocess.run([*command, "--config-dir", str(user_dir), "experiment=mine", "model.units=[8, 8]",
                            "output.console=false", f"hydra.run.dir={run}"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-1500:]
    run_folder.write_json(run / "metrics.json", {"status": "interrupted"})  # as if it had been stopped
    again = subprocess.run([*command, "resume=last", "epochs=4"], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-1500:]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "completed" and len(metrics["history"]["loss"]) == 4
    assert "units:\n  - 8\n  - 8" in (run / "config.yaml").read_text()


# -- help -----------------------------------------------------------------------------------------


def test_help_mentions_config_dir(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "--config-dir" in capsys.readouterr().out
    assert main(["run", "--help"]) == 0
    assert "--config-dir" in capsys.readouterr().out
