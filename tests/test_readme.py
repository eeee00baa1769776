"""The README's `dlwp run` examples compose: their groups, options and keys exist, and Hydra reads every override
as a shell would hand it over (no training; files the examples name may be the reader's own)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from dlwp_cli.config import catalog
from dlwp_cli.config.compose import compose

README = Path(__file__).resolve().parents[1] / "README.md"


def run_examples() -> list[list[str]]:
    """The words after `dlwp run` of each example in the README's code blocks (continued lines joined)."""
    examples = []
    for block in re.findall(r"```(?:bash|sh|console)?\n(.*?)```", README.read_text(), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            command = re.split(r"\s+#\s", line.strip())[0]
            if command.startswith("dlwp run"):
                examples.append(shlex.split(command)[2:])
    return examples


EXAMPLES = run_examples()


def test_the_readme_has_run_examples():
    assert len(EXAMPLES) >= 20


@pytest.mark.parametrize("words", EXAMPLES, ids=[" ".join(w)[:60] or "(defaults)" for w in EXAMPLES])
def test_a_readme_run_example_composes(words):
    if any(w.startswith("resume=") for w in words):
        pytest.skip("continues a run folder")
    config_dir = None
    if "-cd" in words:  # relative to the checkout, as the README runs it
        at = words.index("-cd")
        config_dir, words = README.parent / words[at + 1], words[:at] + words[at + 2:]
    multirun = "-m" in words
    overrides = catalog.configure(config_dir, [w for w in words if w != "-m"])
    try:
        if multirun:  # the first value of each sweep: the sweeper's syntax is Hydra's own
            from hydra.core.override_parser.overrides_parser import OverridesParser

            parsed = OverridesParser.create().parse_overrides(overrides)
            overrides = [o.input_line for o in parsed if not o.is_sweep_override() and "hydra/" not in o.input_line]
        cfg = compose(overrides)
    finally:
        catalog.set_search_path()
    assert cfg.task.name and cfg.model._target_
