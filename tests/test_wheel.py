"""The kit as a student gets it outside a clone: a wheel built from this checkout, installed into a
fresh virtual environment that already has torch (as a hosted notebook has), and a lesson
notebook copied alone into an empty folder.

- Before the kit is installed, the lesson's first cell stops with one line: the install line.
- Installing the wheel keeps the torch that was there.
- The lesson runs top to bottom, and ``python -m ckpt_helpers check`` grades it: the instructor's
  answers pass, the blank student notebook is "not answered yet".
- The wheel holds the data, the fixtures and the checker's references, and no solution.

Slow (building, a fresh environment, pip): ``python -m pytest -m slow``; ``.ci/run`` runs it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from ckpt_kit.environment import INSTALL_LINE
from ckpt_kit.exercises import SOLUTION_BEGIN
from ckpt_kit.paths import DATA_DIR, KIT_DIR, NOTEBOOKS_DIR, SOLUTIONS_DIR

pytestmark = pytest.mark.slow

# lessons whose cells and checks read the kit's data and fixtures (the dataset, a CUDA-saved
# file, whole-model and foreign files), so that the wheel must carry them
LESSONS = ["03_whole_model_vs_state_dict.ipynb", "05_across_devices.ipynb",
           "07_trust_and_formats.ipynb"]
RUN = """
import sys
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
nb = nbformat.read(sys.argv[1], as_version=4)
try:
    NotebookClient(nb, timeout=600, kernel_name="python3").execute()
except CellExecutionError as error:
    print("CELL FAILED", error.ename, error.traceback, sep="\\n")
    sys.exit(3)
"""


def _run(*argv: str | Path, cwd: Path | None = None, check: bool = True,
         timeout: float = 1200) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("PYTEST")}
    done = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    if check and done.returncode != 0:
        pytest.fail(f"{argv} exited {done.returncode}:\n{done.stdout[-4000:]}\n"
                    f"{done.stderr[-4000:]}")
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    source = tmp_path_factory.mktemp("source") / "kit"  # a copy: no build/ in the checkout
    shutil.copytree(KIT_DIR, source, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", "checkpoints",
        "node_modules", "artifacts", ".hypothesis"))
    # with setuptools here, build with it; else pip fetches it into an isolated build environment
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-w", out, source)
    (found,) = out.glob("ckpt_kit-*.whl")
    return found


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    """A new virtual environment with this torch and what runs a notebook, and no kit."""
    folder = tmp_path_factory.mktemp("fresh") / "venv"
    _run(getattr(sys, "_base_executable", sys.executable), "-m", "venv", folder)
    python = folder / "bin" / "python"
    version = torch.__version__.split("+")[0]
    _run(python, "-m", "pip", "install", "-q", f"torch=={version}", "ipykernel", "nbclient")
    return python


def test_the_wheel_carries_data_and_references_and_no_solution(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        notebooks = [archive.read(n).decode("utf-8") for n in names if n.endswith(".ipynb")]
    data = {p.name for p in DATA_DIR.iterdir() if p.is_file()}
    assert {f"ckpt_kit/data/{name}" for name in data} <= names
    assert {f"ckpt_kit/lessons/{p.name}" for p in SOLUTIONS_DIR.glob("*.ipynb")} <= names
    assert {"ckpt_helpers.py", "ckpt_kit/nbval_sanitize.cfg"} <= names
    assert not [n for n in names if "solutions" in n]
    assert len(notebooks) == len(list(SOLUTIONS_DIR.glob("*.ipynb")))
    assert not [text for text in notebooks if SOLUTION_BEGIN in text]


def test_a_lesson_alone_in_an_empty_folder_runs_and_is_checked(wheel, fresh, tmp_path):
    # before the kit is installed: the first cell stops, with the line that installs it
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(NOTEBOOKS_DIR / LESSONS[0], alone)
    (alone / "run.py").write_text(RUN, encoding="utf-8")
    stopped = _run(fresh, "run.py", LESSONS[0], cwd=alone, check=False)
    assert stopped.returncode == 3, stopped.stdout + stopped.stderr
    assert "KitNotInstalled" in stopped.stdout and INSTALL_LINE in stopped.stdout

    torch_before = _run(fresh, "-c", "import torch; print(torch.__version__)").stdout
    _run(fresh, "-m", "pip", "install", "-q", wheel)
    assert _run(fresh, "-c", "import torch; print(torch.__version__)").stdout == torch_before
    where = _run(fresh, "-c", "from ckpt_kit.paths import DATA_DIR, REFERENCES_DIR; "
                              "print(DATA_DIR); print(REFERENCES_DIR)", cwd=alone).stdout
    assert all("site-packages" in line for line in where.split()), where

    for lesson in LESSONS:
        folder = tmp_path / lesson[:2]
        folder.mkdir()
        shutil.copy(SOLUTIONS_DIR / lesson, folder)
        (folder / "run.py").write_text(RUN, encoding="utf-8")
        _run(fresh, "run.py", lesson, cwd=folder)  # top to bottom, no cell fails
        checked = _run(fresh, "-m", "ckpt_helpers", "check", lesson, cwd=folder, check=False)
        assert checked.returncode == 0 and "passed" in checked.stdout, checked.stdout
        assert "not answered" not in checked.stdout and "wrong" not in checked.stdout

    blank = _run(fresh, "-m", "ckpt_helpers", "check", LESSONS[0], cwd=alone, check=False)
    assert blank.returncode == 1 and "not answered yet" in blank.stdout, blank.stdout
    assert sorted(p.name for p in alone.iterdir() if p.suffix == ".ipynb") == [LESSONS[0]]
    student = _run(fresh, "-m", "ckpt_helpers", "student", cwd=alone, check=False)
    assert student.returncode == 2 and "in a clone of the kit" in student.stderr
