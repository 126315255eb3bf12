"""Where the kit runs: each lesson's set-up cell, the install line the README gives for a hosted
notebook, the torch range the package asks for, and the README's JupyterLab command as root
(which stops) and as a normal user (which serves the lesson)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from conftest import become_nobody
from IPython.core.interactiveshell import InteractiveShell

from ckpt_kit.environment import (INSTALL_LINE, OLDEST_TESTED_TORCH, PINNED_TORCH, SETUP_CELL,
                                  SETUP_CELL_ID, release)
from ckpt_kit.paths import KIT_DIR, NOTEBOOKS_DIR, SOLUTIONS_DIR

README = (KIT_DIR / "README.md").read_text(encoding="utf-8")
NOTEBOOKS = sorted([*NOTEBOOKS_DIR.glob("*.ipynb"), *SOLUTIONS_DIR.glob("*.ipynb")])
ROOT_REFUSAL = "Running as root is not recommended. Use --allow-root to bypass."


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_lesson_opens_with_the_set_up_cell(path):
    code = [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    assert code[0].get("id") == SETUP_CELL_ID and code[0].source == SETUP_CELL, path.name
    assert not code[0].outputs


def _hide_the_kit(monkeypatch) -> None:
    """Make ``ckpt_helpers`` look not installed: drop what finds it from the import system."""
    monkeypatch.delitem(sys.modules, "ckpt_helpers", raising=False)
    monkeypatch.setattr(sys, "path", [entry for entry in sys.path
                                      if not (Path(entry or ".") / "ckpt_helpers.py").exists()])
    monkeypatch.setattr(sys, "meta_path", [finder for finder in sys.meta_path
                                           if finder.find_spec("ckpt_helpers", None) is None])


def _run_in_ipython(source: str, capsys) -> tuple[object, str]:
    shell = InteractiveShell.instance()
    try:
        result = shell.run_cell(source, store_history=False)
    finally:
        InteractiveShell.clear_instance()
    captured = capsys.readouterr()
    return result, captured.out + captured.err


def test_without_the_kit_the_set_up_cell_stops_with_one_line_saying_how_to_install(capsys,
                                                                                    monkeypatch):
    _hide_the_kit(monkeypatch)
    result, shown = _run_in_ipython(SETUP_CELL, capsys)
    assert type(result.error_in_exec).__name__ == "KitNotInstalled"  # Run All stops here
    assert shown.strip().splitlines() == [str(result.error_in_exec)]
    assert INSTALL_LINE in shown and "restart" in shown


def test_with_the_kit_the_set_up_cell_does_nothing(capsys):
    result, shown = _run_in_ipython(SETUP_CELL, capsys)
    assert result.success and shown == ""


def test_the_readme_gives_the_install_line_and_says_where_the_address_goes():
    section = README.split("## Run it on Colab or another hosted Jupyter", 1)[1].split("\n## ")[0]
    assert INSTALL_LINE in section
    assert "restart" in section.lower()
    assert "pip wheel" in section  # how the wheel is made


def test_the_package_asks_for_a_torch_range_and_requirements_keep_the_pin():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((KIT_DIR / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    torch = [d for d in project["dependencies"] if re.match(r"torch\b", d)]
    assert len(torch) == 1 and torch[0].startswith("torch>=")
    assert release(torch[0].removeprefix("torch>=")) == release(OLDEST_TESTED_TORCH)
    pins = (KIT_DIR / "requirements.txt").read_text(encoding="utf-8").splitlines()
    assert f"torch=={PINNED_TORCH}" in pins


# The README's command, less the set-up before it: `.venv/bin/jupyter lab notebooks/01_....ipynb`
_LAB = re.search(r"\.venv/bin/jupyter lab (\S+\.ipynb)", README)


def _lab(argv: list[str], port: int, env: dict[str, str], home: Path,
         as_nobody: bool) -> subprocess.Popen:
    return subprocess.Popen(
        [*argv, _LAB.group(1), "--no-browser", f"--port={port}", "--port-retries=0",
         "--ServerApp.token=lab-test", "--ip=127.0.0.1"],
        cwd=KIT_DIR, env={**env, "HOME": str(home)}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, preexec_fn=become_nobody if as_nobody else None)


def _lab_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "PYTEST"))}
    # the shared interpreter below finds JupyterLab's files where this environment keeps them
    return {**env, "JUPYTER_PATH": f"{sys.prefix}/share/jupyter",
            "JUPYTER_CONFIG_PATH": f"{sys.prefix}/etc/jupyter",
            "JUPYTERLAB_DIR": f"{sys.prefix}/share/jupyter/lab"}


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: the command is run as root")
def test_the_lab_command_as_root_stops_with_jupyters_own_message(tmp_path):
    from test_browser import _free_port

    assert _LAB and (KIT_DIR / _LAB.group(1)).is_file()
    lab = _lab([str(Path(sys.prefix, "bin", "jupyter")), "lab"], _free_port(), _lab_environment(),
               tmp_path, as_nobody=False)
    output, _ = lab.communicate(timeout=120)
    assert lab.returncode == 1 and ROOT_REFUSAL in output, output
    assert "--allow-root" in README and ROOT_REFUSAL in README  # and what to do is written


def test_the_lab_command_as_a_normal_user_serves_the_lesson(tmp_path):
    from test_browser import _free_port

    argv = [str(Path(sys.prefix, "bin", "jupyter")), "lab"]
    as_nobody = os.geteuid() == 0
    home = tmp_path
    if as_nobody:  # as root: become nobody, in folders nobody may enter (pytest's are root's)
        from classroom.hub import python_for_all
        home = Path(tempfile.mkdtemp(prefix="lab-user-"))
        home.chmod(0o755)
        python = python_for_all(home / "python")  # pyenv under /root, say: a shared one
        if python != Path(sys.executable):
            argv = [str(python), "-m", "jupyterlab"]  # = jupyter lab
        (home / "home").mkdir()
        os.chown(home / "home", 65534, 65534)
    port = _free_port()
    lab = _lab(argv, port, _lab_environment(), home / "home" if as_nobody else home, as_nobody)
    try:
        # given a notebook, JupyterLab serves that notebook's folder
        url = (f"http://127.0.0.1:{port}/api/contents/{Path(_LAB.group(1)).name}"
               "?content=0&token=lab-test")
        deadline = time.monotonic() + 120
        while lab.poll() is None:
            try:
                with urllib.request.urlopen(url, timeout=5) as reply:
                    assert json.load(reply)["type"] == "notebook"
                    break
            except urllib.error.HTTPError:
                raise
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not answer within 2 minutes")
                time.sleep(0.5)
        assert lab.poll() is None, lab.stdout.read()
    finally:
        lab.terminate()
        output, _ = lab.communicate(timeout=60)
    assert ROOT_REFUSAL not in output
    if as_nobody:
        shutil.rmtree(home, ignore_errors=True)
