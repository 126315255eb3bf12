"""Where the kit's files are.

What a lesson and its check need is package data, found with :mod:`importlib.resources` and so
present wherever the kit is installed (a clone with ``pip install -e .``, a wheel, a repository
URL): the dataset and checkpoint fixtures (``DATA_DIR``: the repository's ``data/``, installed as
``ckpt_kit.data``), the lessons as the checker runs them (``REFERENCES_DIR``) and the nbval
settings it compares outputs with (``SANITIZE_FILE``). The instructor and student notebooks are
not installed: ``NOTEBOOKS_DIR`` and ``SOLUTIONS_DIR`` exist in a clone of the repository only.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def package_folder(package: str) -> Path:
    """The folder of an installed ``package`` as a real path (torch and nbval need file names)."""
    folder = resources.files(package)
    if not isinstance(folder, Path):
        raise ImportError(f"{package} is installed inside an archive ({folder}); install the kit "
                          "with pip, which unpacks it")
    return folder


def _data_folder() -> Path:
    """``ckpt_kit.data``; in a clone that was never installed, the ``data/`` folder beside it."""
    try:
        return package_folder("ckpt_kit.data")
    except ModuleNotFoundError:
        return PACKAGE_DIR.parent / "data"


PACKAGE_DIR = package_folder("ckpt_kit")
DATA_DIR = _data_folder()
# the lessons as the checker runs them: the instructor notebooks without their solutions, with
# the outputs the check cells must print (written by `python -m ckpt_helpers student`)
REFERENCES_DIR = PACKAGE_DIR / "lessons"
SANITIZE_FILE = PACKAGE_DIR / "nbval_sanitize.cfg"
# a clone of the repository: the README, the course's notebooks, the instructor's solutions
KIT_DIR = PACKAGE_DIR.parent
NOTEBOOKS_DIR = KIT_DIR / "notebooks"
SOLUTIONS_DIR = NOTEBOOKS_DIR / "solutions"
