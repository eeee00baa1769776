"""The tests exercise this checkout, in this process and in the processes they start, not an installed copy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
FOLDERS = {"dlwp_cli": "dlwp_cli", "dlwp_tasks": "tasks", "dlwp_conf": "conf"}


def test_the_packages_come_from_the_checkout():
    import dlwp_cli
    import dlwp_conf
    import dlwp_tasks

    for module in (dlwp_cli, dlwp_tasks, dlwp_conf):
        assert Path(module.__file__).resolve().parent == CHECKOUT / FOLDERS[module.__name__]


def test_subprocesses_import_the_checkout_too(tmp_path):
    code = ("import json, dlwp_cli, dlwp_tasks, dlwp_conf; from pathlib import Path; "
            "print(json.dumps({m.__name__: str(Path(m.__file__).resolve().parent) "
            "for m in (dlwp_cli, dlwp_tasks, dlwp_conf)}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    found = json.loads(out.stdout)
    assert found == {name: str(CHECKOUT / folder) for name, folder in FOLDERS.items()}


def test_every_python_package_of_the_checkout_is_installed():
    """pyproject's explicit package list names every folder with an __init__.py, so an installed dlwp (not the
    links these tests import) has them all."""
    import tomllib

    repo = Path(__file__).resolve().parents[1]
    config = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    folders = {name: repo / folder for name, folder in config["package-dir"].items()}
    found = set()
    for name, root in folders.items():
        for init in root.rglob("__init__.py"):
            if "__pycache__" in init.parts:
                continue
            relative = init.parent.relative_to(root).parts
            found.add(".".join((name, *relative)))
    python_packages = {p for p in found if not p.startswith("dlwp_conf")}
    assert python_packages - listed == set()
