"""Where the kit keeps its data, notebooks and nbval settings (folders of the repository)."""

from __future__ import annotations

from pathlib import Path

KIT_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = KIT_DIR / "data"
NOTEBOOKS_DIR = KIT_DIR / "notebooks"
SOLUTIONS_DIR = NOTEBOOKS_DIR / "solutions"
# the lessons as the checker runs them: the instructor notebooks without their solutions, with
# the outputs the check cells must print (written by `python -m ckpt_helpers student`)
REFERENCES_DIR = Path(__file__).resolve().parent / "lessons"
SANITIZE_FILE = KIT_DIR / "nbval_sanitize.cfg"
