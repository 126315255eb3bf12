"""Exercises in the instructor notebooks, and the student notebooks made from them.

Conventions, kept by every instructor notebook in ``notebooks/solutions/``:

- an exercise's answer cell holds its solution between SOLUTION_BEGIN and SOLUTION_END;
- the next code cell checks it and starts with ``# Check: Exercise N - title``; it asserts on
  behaviour (files, shapes, reloaded predictions) and prints ``Exercise N: passed`` at the end.

The student version of a notebook is the instructor version with each solution replaced by
STUB, its outputs cleared and its volatile metadata removed: ``python -m ckpt_helpers student``.
A cell tagged ``predict`` (its markdown asks "Predict: ...") also ships without its output.

Both versions carry nbgrader's cell metadata, derived from those markers on every clean: the
answer cell is a solution cell, the check cell a locked, autograded test cell worth
POINTS, so that a course folder made from them (``ckpt_kit.nbgrader_course``) grades with
``nbgrader autograde``. The lesson cells carry none: students may change them as they explore.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ckpt_kit.environment import SETUP_CELL, SETUP_CELL_ID
from ckpt_kit.paths import NOTEBOOKS_DIR, REFERENCES_DIR, SOLUTIONS_DIR

if TYPE_CHECKING:  # only for type hints: nbformat is imported by the functions that use it
    from nbformat import NotebookNode

SOLUTION_BEGIN = "### BEGIN SOLUTION"
SOLUTION_END = "### END SOLUTION"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
PREDICT_TAG = "predict"  # a cell whose result students predict: its output is not shipped
POINTS = 1  # what nbgrader gives a passed exercise: the kit's verdicts are pass or fail
# "# Check: Exercise 2 - title"; a translated lesson's check cells open in its language
_CHECK_LINE = re.compile(
    r"#\s*(?:Check:\s*Exercise|检查[:：]\s*练习)\s*(\d+)\s*(?:[-—:：]\s*)?(.*)")


@dataclass(frozen=True)
class Exercise:
    """Where an exercise lives in a notebook: its number, title and the ids of its two cells."""

    number: int
    title: str
    answer_id: str
    check_id: str


def find_exercises(nb: NotebookNode) -> list[Exercise]:
    """The exercises of an instructor notebook, in order; ``ValueError`` if one is malformed.

    An answer cell holds SOLUTION_BEGIN; in a notebook without any (the solutions blanked), it
    is the cell with nbgrader's solution metadata.

    >>> import nbformat; find_exercises(nbformat.v4.new_notebook())
    []
    """
    exercises: list[Exercise] = []
    answer = None  # the last solution cell not yet claimed by a check cell
    marked = any(SOLUTION_BEGIN in cell.source for cell in nb.cells if cell.cell_type == "code")
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        match = _CHECK_LINE.match(cell.source.lstrip())
        if match:
            number = int(match.group(1))
            if answer is None:
                raise ValueError(f"the check of Exercise {number} has no answer cell before it")
            exercises.append(Exercise(number, match.group(2).strip(), answer.id, cell.id))
            answer = None
        elif (SOLUTION_BEGIN in cell.source if marked else
              cell.metadata.get("nbgrader", {}).get("solution")):
            if answer is not None:
                raise ValueError(f"solution cell {answer.id} is not followed by a check cell")
            answer = cell
    if answer is not None:
        raise ValueError(f"solution cell {answer.id} is not followed by a check cell")
    return exercises


def _blank_solutions(source: str, stub: tuple[str, str] = STUB) -> str:
    """Replace each SOLUTION_BEGIN..SOLUTION_END region by the stub, at the same indent."""
    out: list[str] = []
    inside = False
    for line in source.splitlines():
        if line.strip() == SOLUTION_BEGIN:
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + stub_line for stub_line in stub]
            inside = True
        elif line.strip() == SOLUTION_END:
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{SOLUTION_BEGIN} without {SOLUTION_END} in:\n{source}")
    return "\n".join(out)


def nbgrader_metadata(nb: NotebookNode) -> dict[str, dict]:
    """nbgrader's cell metadata (schema 3) for each exercise cell of an instructor notebook, by
    cell id: the answer cell is a solution cell, the check cell a locked test cell that
    ``nbgrader autograde`` runs and gives POINTS unless it raises (or writes to stderr).

    >>> import nbformat; nbgrader_metadata(nbformat.v4.new_notebook())
    {}
    """
    metadata: dict[str, dict] = {}
    for ex in find_exercises(nb):
        # nbgrader's grade_id is the cell id: unique, and in the characters both allow
        metadata[ex.answer_id] = {"grade": False, "grade_id": ex.answer_id, "locked": False,
                                  "schema_version": 3, "solution": True, "task": False}
        metadata[ex.check_id] = {"grade": True, "grade_id": ex.check_id, "locked": True,
                                 "points": POINTS, "schema_version": 3, "solution": False,
                                 "task": False}
    return metadata


def clean_notebook(nb: NotebookNode) -> NotebookNode:
    """Drop volatile metadata in place (versions, timings, widget ids) so diffs show content,
    and set the exercise cells' nbgrader metadata afresh from their markers.

    >>> import nbformat; clean_notebook(nbformat.v4.new_notebook()).metadata["kernelspec"]["name"]
    'python3'
    """
    language = nb.metadata.get("ckpt_kit")  # a translated lesson's language (ckpt_kit.i18n)
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                       "name": "python3"},
        "language_info": {"name": "python"},
    }
    if language:
        nb.metadata["ckpt_kit"] = language
    graded = nbgrader_metadata(nb)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        cell.metadata = {"tags": tags} if tags else {}
        if cell.get("id") in graded:
            cell.metadata["nbgrader"] = graded[cell.id]
        if cell.cell_type == "code":
            # a widget's saved view (a progress bar) names a model id that changes on every run
            outputs = [o for o in cell.outputs
                       if "application/vnd.jupyter.widget-view+json" not in o.get("data", {})]
            # one stream output per name, however the kernel happened to split the text
            cell.outputs = []
            for output in outputs:
                previous = cell.outputs[-1] if cell.outputs else None
                if (output.output_type == "stream" and previous is not None and
                        previous.output_type == "stream" and previous.name == output.name):
                    previous.text += output.text
                else:
                    cell.outputs.append(output)
    return nb


def make_student_notebook(solution: NotebookNode, *, blank: bool = True,
                          stub: tuple[str, str] = STUB) -> NotebookNode:
    """The student version of an instructor notebook: answers blanked, their outputs cleared.

    With ``blank=False`` the answers stay and only the outputs go: the source notebook of an
    nbgrader course, whose ``generate_assignment`` blanks the answers itself.
    A translated lesson passes its own ``stub``, whose comment is in its language.

    >>> import nbformat; make_student_notebook(nbformat.v4.new_notebook()).cells
    []
    """
    nb = clean_notebook(copy.deepcopy(solution))
    cell_ids = {cell_id for ex in find_exercises(nb) for cell_id in (ex.answer_id, ex.check_id)}
    for cell in nb.cells:
        if cell.id in cell_ids:
            if blank:
                cell.source = _blank_solutions(cell.source, stub)
            cell.outputs, cell.execution_count = [], None
        elif PREDICT_TAG in cell.metadata.get("tags", []):  # students predict before they run
            cell.outputs, cell.execution_count = [], None
    return nb


def make_reference_notebook(solution: NotebookNode) -> NotebookNode:
    """What the checker needs of a lesson, and nothing a student must not see: the student
    version, with the outputs its check cells must print and no other output.

    >>> import nbformat; make_reference_notebook(nbformat.v4.new_notebook()).cells
    []
    """
    nb = make_student_notebook(solution)
    expected = {ex.check_id for ex in find_exercises(solution)}
    stored = {cell.id: cell for cell in solution.cells if cell.id in expected}
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if cell.id in stored:  # nbval compares the outputs of cells that have a count
                cell.outputs = copy.deepcopy(stored[cell.id].outputs)
                cell.execution_count = stored[cell.id].execution_count
    return nb


def with_setup_cell(nb: NotebookNode) -> NotebookNode:
    """Make ``nb``'s first code cell the set-up cell that stops, with the install line, where the
    kit is missing (``environment.SETUP_CELL``): inserted if absent, brought up to date if not."""
    import nbformat

    cells = [cell for cell in nb.cells if cell.get("id") == SETUP_CELL_ID]
    cell = cells[0] if cells else nbformat.v4.new_code_cell(id=SETUP_CELL_ID)
    if not cells:
        first_code = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"),
                          len(nb.cells))
        nb.cells.insert(first_code, cell)
    cell.source = SETUP_CELL
    return nb


def _execute_in_place(path: Path) -> None:
    """Run a notebook top to bottom in its own folder and store its outputs."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(clean_notebook(nb), path)


def write_student_notebooks(execute: bool = False, *, solutions_dir: Path = SOLUTIONS_DIR,
                            students_dir: Path = NOTEBOOKS_DIR,
                            references_dir: Path | None = REFERENCES_DIR,
                            lessons: tuple[str, ...] = ()) -> list[Path]:
    """Clean every instructor notebook (re-running it first if ``execute``) and write its
    student version into ``notebooks/`` and its reference for the checker into
    ``ckpt_kit/lessons/``; return the student notebooks' paths.

    ``lessons`` limits it to the notebooks whose names start with one of them (``"03"``).
    """
    import nbformat

    written = []
    for solution_path in sorted(Path(solutions_dir).glob("*.ipynb")):
        if lessons and not solution_path.name.startswith(lessons):
            continue
        nbformat.write(with_setup_cell(nbformat.read(solution_path, as_version=4)),
                       solution_path)
        if execute:
            _execute_in_place(solution_path)
        solution = clean_notebook(nbformat.read(solution_path, as_version=4))
        nbformat.write(solution, solution_path)
        student_path = Path(students_dir) / solution_path.name
        nbformat.write(make_student_notebook(solution), student_path)
        if references_dir is not None:
            nbformat.write(make_reference_notebook(solution),
                           Path(references_dir) / solution_path.name)
        written.append(student_path)
    return written
