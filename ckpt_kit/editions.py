"""The translated editions of the lessons: ``notebooks/zh/`` and its ``solutions/``.

Each is made by one command, ``python -m ckpt_helpers translate [--execute] [NN ...]``, from the
English instructor notebook and the language's catalogs (:mod:`ckpt_kit.translation`): nobody
edits a translated notebook. A cell takes its translation only where the catalog's entry is
translated, not fuzzy, and made for the English cell as it is now; every other cell stays
English (and :func:`ckpt_kit.translation.problems` names it). The cells keep their ids, so the
checker grades a translated notebook with the English lesson's checks and reports in the
notebook's language (its ``metadata.ckpt_kit.language``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ckpt_kit.environment import SETUP_CELL_ID
from ckpt_kit.exercises import (STUB, _execute_in_place, clean_notebook, make_student_notebook,
                                with_setup_cell)
from ckpt_kit.i18n import locale_folder
from ckpt_kit.paths import NOTEBOOKS_DIR, SOLUTIONS_DIR
from ckpt_kit.translation import (EDITIONS, KIT_CATALOG, STUB_CONTEXT, has_prose,
                                  lesson_names)

if TYPE_CHECKING:
    import polib
    from nbformat import NotebookNode


def edition_folder(lang: str, notebooks_dir: Path = NOTEBOOKS_DIR) -> Path:
    """Where the student notebooks of ``lang`` live: ``notebooks/zh``."""
    return Path(notebooks_dir) / EDITIONS[lang]


def _usable(catalog: polib.POFile) -> dict[str, polib.POEntry]:
    """The cell entries of a catalog that may be used: translated and not fuzzy, by context."""
    return {e.msgctxt: e for e in catalog
            if e.msgctxt and not e.obsolete and not e.fuzzy and e.msgstr.strip()}


@dataclass
class Translated:
    """A translated instructor notebook, and the ids of the cells that stayed English."""

    notebook: NotebookNode
    english: list[str] = field(default_factory=list)


def translate_notebook(solution: NotebookNode, lesson: polib.POFile, kit: polib.POFile,
                       lang: str) -> Translated:
    """``solution`` with each cell that has a current translation replaced by it."""
    nb = copy.deepcopy(solution)
    entries = {**_usable(lesson), SETUP_CELL_ID: _usable(kit).get(SETUP_CELL_ID)}
    result = Translated(nb)
    for cell in nb.cells:
        entry = entries.get(cell.get("id"))
        if entry is not None and entry.msgid == cell.source:
            cell.source = entry.msgstr
        elif cell.source.strip() and (cell.cell_type == "markdown" or has_prose(cell.source)):
            result.english.append(cell.id)  # a reader reads it, and it has no translation
    nb.metadata.setdefault("ckpt_kit", {})["language"] = lang
    return result


def student_stub(kit: polib.POFile) -> tuple[str, str]:
    """The stub of a blank answer in the catalog's language (English where not translated)."""
    first = next((e.msgstr for e in kit if e.msgctxt == STUB_CONTEXT and not e.fuzzy and
                  e.msgstr.strip() and e.msgid == STUB[0]), STUB[0])
    return (first, STUB[1])


def _keep_outputs(nb: NotebookNode, old_path: Path) -> None:
    """Give each cell the outputs it had in the last written edition, where its source is the
    same (so a run without ``--execute`` keeps what the last execution stored)."""
    import nbformat

    if not old_path.is_file():
        return
    old = {c.get("id"): c for c in nbformat.read(old_path, as_version=4).cells}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        before = old.get(cell.get("id"))
        if before is not None and before.source == cell.source:
            cell.outputs, cell.execution_count = before.outputs, before.execution_count
        else:
            cell.outputs, cell.execution_count = [], None


def write_edition(lang: str, execute: bool = False, *, lessons: tuple[str, ...] = (),
                  solutions_dir: Path = SOLUTIONS_DIR, notebooks_dir: Path = NOTEBOOKS_DIR,
                  locale_dir: Path | None = None) -> dict[Path, list[str]]:
    """Write the translated instructor and student notebooks of ``lang`` (re-running each
    instructor notebook if ``execute``); return each student notebook's path with the ids of
    its cells that stayed English."""
    import nbformat
    import polib

    folder = locale_dir or locale_folder(lang)
    kit = polib.pofile(str(folder / f"{KIT_CATALOG}.po"))
    students = edition_folder(lang, notebooks_dir)
    (students / "solutions").mkdir(parents=True, exist_ok=True)
    written = {}
    for name in lesson_names(solutions_dir):
        if lessons and not name.startswith(lessons):
            continue
        english = with_setup_cell(nbformat.read(Path(solutions_dir) / f"{name}.ipynb",
                                                as_version=4))
        lesson = polib.pofile(str(folder / f"{name}.po"))
        result = translate_notebook(english, lesson, kit, lang)
        solution_path = students / "solutions" / f"{name}.ipynb"
        _keep_outputs(result.notebook, solution_path)
        nbformat.write(clean_notebook(result.notebook), solution_path)
        if execute:
            _execute_in_place(solution_path)
        solution = clean_notebook(nbformat.read(solution_path, as_version=4))
        nbformat.write(solution, solution_path)
        student_path = students / f"{name}.ipynb"
        nbformat.write(make_student_notebook(solution, stub=student_stub(kit)), student_path)
        written[student_path] = result.english
    return written
