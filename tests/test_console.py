"""What ``dlwp run`` prints and logs: no TensorFlow start-up lines, a run log in the run folder, the
end-of-sweep summary, and its --help."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dlwp_cli import console

DLWP = shutil.which("dlwp") or str(Path(sys.executable).parent / "dlwp")
NOISE = re.compile(r"I0000|oneDNN|cudart_stub|cuda_platform|absl::InitializeLog|port\.cc")


def dlwp(*args, cwd, env=None, timeout=300):
    merged = {**os.environ, **(env or {})}
    merged.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as a user's shell has it: dlwp sets it
    return subprocess.run([DLWP, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=merged)


def test_native_log_lines_below_the_level_are_dropped():
    text = "\n".join([
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "I0000 00:00:1795975594.138817    6506 port.cc:153] oneDNN custom operations are on.",
        "I0000 00:00:1795975599.516903    6769 cpu_feature_guard.cc:227] This TensorFlow binary is optimized",
        "To enable the following instructions: AVX2 AVX512F, in other operations, rebuild TensorFlow.",
        "W0000 00:00:1795975599.516903    6769 cuda_platform.cc:51] failed call to cuInit: UNKNOWN ERROR (303)",
        "/some/module.py:3: UserWarning: a Python warning stays",
        "E0000 00:00:1795975599.516903    6769 cuda_dnn.cc:8310] Unable to register cuDNN factory",
    ])
    assert console.filter_native_log(text, 3) == ["/some/module.py:3: UserWarning: a Python warning stays"]
    assert console.filter_native_log(text, 2)[-1].endswith("Unable to register cuDNN factory")
    assert len(console.filter_native_log(text, 2)) == 2
    assert console.filter_native_log(text, 0) == text.splitlines()


def test_run_help_names_the_form_groups_keys_and_own_configs(tmp_path):
    code = ("import sys\nfrom dlwp_cli.main import main\nmain(['run', '--help'])\n"
            "assert 'tensorflow' not in sys.modules, 'TensorFlow imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("usage: dlwp run [OVERRIDES...] [-m] [--config-dir DIR] [--cfg job|hydra|all] [--info]")
    from dlwp_cli.config import catalog

    groups = dict(re.findall(r"^  (\w+) +(\S.*)$", text.split("config groups")[1].split("\n\n")[0], flags=re.M))
    assert list(groups) == catalog.groups()
    assert "digits" in groups["task"] and "backbone" in groups["model"] and "in all)" in groups["model"]
    for key in ("seed=", "epochs=", "batch_size=", "precision=", "source=", "data_dir=", "resume=RUN_DIR|last",
                "debug=smoke", "--config-dir DIR", "Your own data and models"):
        assert key in text, key
    assert max(len(line) for line in text.splitlines()) <= 110


def test_every_verb_has_a_clean_usage_line(tmp_path):
    from dlwp_cli.main import main
    import contextlib
    import io

    for verb, usage in (("report", "usage: dlwp report [RUN_DIR...] [--summary] [--format table|csv|markdown]"),
                        ("show", "usage: dlwp show [OVERRIDES...] [--config-dir DIR]"),
                        ("list", "usage: dlwp list [GROUP...] [--config-dir DIR]"),
                        ("predict", "usage: dlwp predict RUN_DIR INPUT... [--file PATH] [--output FILE] [--top K]")):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            main([verb, "--help"])
        assert out.getvalue().startswith(usage), out.getvalue()[:200]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        main(["--help"])
    listed = out.getvalue()
    for verb in ("run", "list", "show", "report", "launch", "predict"):
        assert re.search(rf"^    {verb} ", listed, flags=re.M), verb  # argparse's list of commands
        assert f"  dlwp {verb} " in listed, verb  # and its usage line
    assert "dlwp launch --workers N [--port P] [--max-restarts K] -- run [OVERRIDES...]" in listed


def test_a_run_prints_no_tensorflow_start_up_lines_and_logs_to_its_folder(tmp_path):
    result = dlwp("run", "task=digits", "epochs=1", "output.save_model=false", "output.tensorboard=false",
                  "output.plots=false", "hydra.run.dir=run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    both = result.stdout + result.stderr
    assert not NOISE.search(both), [line for line in both.splitlines() if NOISE.search(line)]
    assert "test.accuracy" in result.stdout
    log = (tmp_path / "run" / "dlwp.log").read_text()
    assert re.search(r"epoch +1/1 +accuracy", log), log
    assert "dlwp run digits-dense" in log and "completed: test.accuracy=" in log
    assert "[dlwp][INFO]" not in result.stdout  # the run log stays in the file


def test_a_run_in_process_leaves_logging_as_it_found_it(tmp_path, monkeypatch):
    """A run keeps the dlwp logger's records off console handlers only while it runs. Afterwards (a sweep's next
    job, a notebook, a test) every root handler, Hydra's console handler included, takes them again, and the
    logger has its level from before."""
    import logging

    from dlwp_cli.main import main

    monkeypatch.chdir(tmp_path)
    level = console.log.level
    assert main(["run", "task=digits", "epochs=1", "trainer.limit_batches=2", "output.console=false",
                 "output.save_model=false", "output.tensorboard=false", "output.plots=false",
                 "hydra.run.dir=run"]) == 0
    assert "completed: test.accuracy=" in (tmp_path / "run" / "dlwp.log").read_text()
    assert console.log.level == level
    handlers = logging.getLogger().handlers
    assert any(type(h) is logging.StreamHandler for h in handlers)  # Hydra's console handler stays
    record = console.log.makeRecord(console.log.name, logging.WARNING, __file__, 0, "after the run", (), None)
    assert all(handler.filter(record) for handler in handlers)


def test_a_sweep_ends_with_how_many_jobs_failed(tmp_path):
    """Two jobs: digits trains; mnist finds no data (offline, empty data folder) after its folder exists."""
    empty = tmp_path / "data"
    empty.mkdir()
    result = dlwp("run", "-m", "task=digits,mnist", "epochs=1", f"data_dir={empty}", "download=false",
                  "output.save_model=false", "output.tensorboard=false", "output.plots=false",
                  "hydra.sweep.dir=sweep", cwd=tmp_path, env={"KERAS_HOME": str(tmp_path / "keras")})
    assert result.returncode == 1
    assert "1 of 2 jobs failed" in result.stdout, result.stdout + result.stderr
    failed = result.stdout.split("1 of 2 jobs failed")[1]
    assert "sweep/1_mnist-dense" in failed and "0_digits-dense" not in failed
    assert not NOISE.search(result.stdout + result.stderr)
    assert (tmp_path / "sweep" / "0_digits-dense" / "dlwp.log").read_text().strip()
    assert "failed:" in (tmp_path / "sweep" / "1_mnist-dense" / "dlwp.log").read_text()


def test_an_unexpected_error_in_a_verb_is_one_line_with_its_traceback_in_a_file(monkeypatch, tmp_path, capsys):
    from dlwp_cli.commands import viz
    from dlwp_cli.main import main

    def viz_command(*args):
        raise TypeError("Input 'y' of 'Mul' Op has type float32 that does not match type bfloat16 of argument 'x'.")

    viz_command.__module__ = viz.__name__
    monkeypatch.setattr(viz, "viz_command", viz_command)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.delenv("DLWP_TRACEBACK", raising=False)
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    assert main(["viz", "filters", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "viz failed: TypeError: Input 'y' of 'Mul' Op has type float32" in err
    saved = list(tmp_path.glob("dlwp-viz-error-*.log"))
    assert len(saved) == 1 and str(saved[0]) in err.replace("\n", "")
    assert "Traceback (most recent call last)" in saved[0].read_text() and "def viz_command" not in err
    monkeypatch.setenv("DLWP_TRACEBACK", "1")
    with pytest.raises(TypeError):
        main(["viz", "filters", str(tmp_path)])


def test_error_messages_keep_bracketed_text(capsys):
    from dlwp_tasks.errors import DataError

    console.error(DataError("the target tokens [start] and [end] are missing; [/] and [/bold] too"))
    assert "[start] and [end] are missing; [/] and [/bold] too" in capsys.readouterr().err


def test_book_table_figures_write_counts_out():
    assert console.figure(5817633.0) == "5,817,633" and console.figure(20000) == "20,000"
    assert console.figure(0, sign=True) == "+0" and console.figure(-0.01084, sign=True) == "-0.01084"
    assert console.figure(0.8722) == "0.8722" and console.figure(2.5199) == "2.52"


@pytest.mark.parametrize(("overrides", "shown"), [
    (["experiment=ch12/vae_mnist"], "rmsprop"),  # the VAE trains with the optimizer group
    (["experiment=ch12/gan_celeba_dcgan"], "model.d_optimizer,model.g_optimizer"),
    (["experiment=ch12/deepdream_inception_v3"], "gradient ascent (trainer.step)"),
    (["experiment=ch12/style_transfer_vgg19"], "SGD (trainer.learning_rate)"),
    (["trainer=random_baseline"], "none"),
])
def test_the_header_names_what_updates_the_weights(overrides, shown):
    from dlwp_cli.config.compose import compose_validated

    cfg = compose_validated(overrides)
    assert console.update_label(cfg, "rmsprop") == shown
    with console.console.capture() as captured:
        console.summary(cfg, {"optimizer": "rmsprop", "trainer": "t"}, "run")
    assert f"optimizer={shown}  " in captured.get()
