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
