"""Configuration errors are found before TensorFlow is imported and before a run folder exists: exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

CASES = {
    "unknown dataset": (["task.dataset._target_=dlwp_tasks.datasets.nope.load"],
                        ["task.dataset._target_", "cannot be imported", "nope"]),
    "no logical cpus": (["strategy=mirrored", "strategy.logical_cpus=0"], ["strategy.logical_cpus", "at least 1"]),
    "hold-out too large": (["task=boston", "trainer.validation_size=500"],
                           ["holds out 500 of the 404 training examples", "below 404"]),
    "hold-out too large for a table": (["task=csv", "task.path=table.csv", "task.label=y",
                                        "trainer.validation_size=50"],
                                       ["holds out 50 of the 19 training examples"]),
    "no table path": (["task=csv", "task.label=y"], ["task.path=FILE"]),
    "missing table": (["task=csv", "task.path=nowhere.csv", "task.label=y"], ["'nowhere.csv' does not exist"]),
    "model does not fit": (["task=imdb", "model=convnet"], ["takes image inputs", "Models that fit task 'imdb'"]),
    "group typo": (["optimzer.learning_rate=0.1"], ["Did you mean 'optimizer'"]),
    "bad table": (["task=csv", "task.path=table.csv", "task.label=yy"], ["no column 'yy'", "Did you mean 'y'"]),
    "unreadable override": (["task=csv", "task.path=run#2.csv", "task.label=y"],
                            ["task.path=run#2.csv", "quote a value that holds them", "\"task.path='data/run #2.csv'\""]),
}

SCRIPT = """
import contextlib, io, json, sys
from dlwp_cli.main import main
results = {}
for name, args in json.loads(sys.argv[1]).items():
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["run", *args])
    results[name] = [code, err.getvalue()]
print(json.dumps({"results": results, "tensorflow": "tensorflow" in sys.modules}))
"""


def test_configuration_errors_come_before_tensorflow_and_the_run_folder(tmp_path):
    (tmp_path / "table.csv").write_text("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(30)))
    args = {name: [*overrides, f"hydra.run.dir={tmp_path / 'run' / str(i)}"]
            for i, (name, (overrides, _)) in enumerate(CASES.items())}
    out = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(args)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    for name, (_, expected) in CASES.items():
        code, message = report["results"][name]
        assert code == 2, (name, message)
        for part in expected:
            assert part in " ".join(message.split()), (name, part, message)
        assert "Traceback" not in message
    assert not (tmp_path / "run").exists() and not (tmp_path / "outputs").exists()
    assert report["tensorflow"] is False


def test_a_value_starting_with_a_tilde_is_the_home_folder(tmp_path, monkeypatch, capsys):
    """A shell leaves ``task.path=~/x`` alone (not a variable assignment) and Hydra cannot read a bare ``~``."""
    from dlwp_cli.main import main

    (tmp_path / "table.csv").write_text("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(30)))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["show", "task=csv", "task.path=~/table.csv", "task.label=y"]) == 0
    assert "rows: 19 train, 5 validation, 6 test" in capsys.readouterr().out  # the file in HOME was read
    assert main(["show", "task=csv", "task.path='~/table.csv'", "task.label=y"]) == 0  # quoted: the loader expands it
    assert "rows: 19 train, 5 validation, 6 test" in capsys.readouterr().out
