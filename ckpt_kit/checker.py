"""The answer checker: grade a student notebook by what its answers do.

The checker takes the instructor notebook and puts into it only the student's answer cells; the
lesson, the check cells and the outputs the checks must reproduce come from the reference. It
runs that notebook under nbval in a temporary folder and turns each exercise's two cells into a
verdict with a sentence for the student.
"""

from __future__ import annotations

import contextlib
import copy
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ckpt_kit.exercises import STUB, Exercise, find_exercises
from ckpt_kit.paths import SANITIZE_FILE, SOLUTIONS_DIR
from ckpt_kit.terminal import strip_ansi

if TYPE_CHECKING:  # only for type hints: nbformat is imported by the functions that use it
    from nbformat import NotebookNode


@dataclass(frozen=True)
class ExerciseResult:
    """The verdict on one exercise: ``passed``, and a sentence for the student."""

    exercise: Exercise
    passed: bool
    message: str



def _find_answer(student: NotebookNode, reference: NotebookNode, answer_id: str) -> str | None:
    """The student's source for an answer cell: same cell id, else same first line."""
    cells = [c for c in student.cells if c.cell_type == "code"]
    for cell in cells:
        if cell.get("id") == answer_id:
            return cell.source
    first_line = next(c for c in reference.cells if c.id == answer_id).source.split("\n")[0]
    for cell in cells:
        if cell.source.split("\n")[0] == first_line:
            return cell.source
    return None


def _grading_notebook(reference: NotebookNode, student: NotebookNode) -> NotebookNode:
    """The reference notebook with the student's answers in it; nothing else of theirs."""
    nb = copy.deepcopy(reference)
    cells = {cell.id: cell for cell in nb.cells}
    for ex in find_exercises(reference):
        answer = cells[ex.answer_id]
        source = _find_answer(student, reference, ex.answer_id)
        answer.source = source if source is not None else (
            f"raise LookupError('the answer cell of Exercise {ex.number} is missing from your "
            "notebook: copy it back from the lesson')")
        answer.outputs = []
        # answers may print anything; the check cell's output is compared with the reference
        answer.metadata["tags"] = ["nbval-ignore-output"]
        cells[ex.check_id].metadata["tags"] = ["nbval-check-output"]
    return nb


def _describe(error: dict | None) -> str:
    """An error output of a cell as one readable ``Name: message``."""
    return f"{error['ename']}: {strip_ansi(error['evalue'])}" if error else ""


def _verdict(ex: Exercise, outcomes: dict[str, tuple[bool, dict | None]],
             answered: bool) -> ExerciseResult:
    """Turn the outcomes of an exercise's two cells into a sentence for the student."""
    answer_ok, answer_error = outcomes.get(ex.answer_id, (False, None))
    check_ok, check_error = outcomes.get(ex.check_id, (False, None))
    # the stub raises NotImplementedError() with no message; torch raises real ones with one
    stub_raised = any(e and e["ename"] == "NotImplementedError" and not e["evalue"].strip()
                      for e in (answer_error, check_error))
    if not answered or stub_raised:  # the stub is still there, or one still raises
        return ExerciseResult(ex, False, "not answered yet: replace "
                              "`raise NotImplementedError()` in its answer cell with your code")
    if not answer_ok:
        what = _describe(answer_error) or "did not finish (too slow, or the kernel died)"
        return ExerciseResult(ex, False, f"your answer cell raised {what}")
    if check_ok:
        return ExerciseResult(ex, True, "passed")
    if check_error and check_error["ename"] == "AssertionError":
        hint = strip_ansi(check_error["evalue"])
        return ExerciseResult(ex, False, f"not right yet. {hint}")
    what = _describe(check_error) or "the check's output differs from the reference"
    return ExerciseResult(ex, False, f"the check could not accept your answer ({what}); "
                          "does your answer define what the exercise asks for?")


def _run_nbval(notebook: Path, cell_timeout: float) -> dict[str, tuple[bool, dict | None]]:
    """Run ``notebook`` under nbval (lax) in its folder; each cell's outcome and first error."""
    import pytest

    outcomes: dict[str, tuple[bool, dict | None]] = {}

    class Collector:  # a pytest plugin: the outcome and first error output of every cell
        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_makereport(self, item: Any, call: Any) -> Any:
            report = (yield).get_result()
            if report.when == "call" and hasattr(item, "cell"):
                errors = [o for o in item.test_outputs or [] if o.get("output_type") == "error"]
                outcomes[item.cell.id] = (report.passed, errors[0] if errors else None)

    folder = notebook.parent
    ini = folder / "pytest.ini"  # keeps the kit's own pytest settings out of this run
    ini.write_text("[pytest]\n", encoding="utf-8")
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        exit_code = pytest.main(
            [str(notebook), "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout",
             str(cell_timeout), "--nbval-sanitize-with", str(SANITIZE_FILE), "-c", str(ini),
             "--rootdir", str(folder), "-p", "no:cacheprovider", "-q", "--tb=short"],
            plugins=[Collector()])
    if exit_code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise RuntimeError(f"nbval could not run {notebook.name} (pytest exit code "
                           f"{exit_code}):\n" + log.getvalue()[-2000:])
    return outcomes


def _read_submission(path: Path) -> tuple[NotebookNode, NotebookNode]:
    """The student's notebook and the reference notebook of the same lesson."""
    import nbformat

    if path.suffix != ".ipynb" or not path.is_file():
        raise FileNotFoundError(f"{path} is not a notebook file; pass e.g. "
                                "notebooks/01_define_the_net.ipynb")
    reference_path = SOLUTIONS_DIR / path.name
    if not reference_path.is_file():
        known = ", ".join(p.name for p in sorted(SOLUTIONS_DIR.glob("*.ipynb")))
        raise FileNotFoundError(f"no lesson is called {path.name}; the lessons are: {known}")
    try:
        student = nbformat.read(path, as_version=4)
    except Exception as error:  # nbformat raises several types for a damaged file
        raise ValueError(f"{path} is not a readable notebook ({error}); did the save finish? "
                         "Restore it from git or re-download it") from error
    return student, nbformat.read(reference_path, as_version=4)


def check_notebook(path: str | Path, cell_timeout: float = 300) -> list[ExerciseResult]:
    """Grade a student notebook: run the instructor notebook with the student's answers in it.

    Only the answer cells come from the student; the lesson and the check cells, and the
    outputs the checks must reproduce, come from ``notebooks/solutions/``, so an answer is
    judged by what it does, never by what the student's file says it printed. Runs nbval.
    """
    import nbformat

    path = Path(path)
    student, reference = _read_submission(path)
    exercises = find_exercises(reference)
    grading = _grading_notebook(reference, student)
    with tempfile.TemporaryDirectory(prefix="ckpt-check-") as tmp:
        # the kernel starts in the folder of the notebook, so files an answer writes land here
        graded = Path(tmp) / path.name
        nbformat.write(grading, graded)
        outcomes = _run_nbval(graded, cell_timeout)
    exercise_cells = {i for ex in exercises for i in (ex.answer_id, ex.check_id)}
    lesson_failures = [cell_id for cell_id, (ok, _) in outcomes.items()
                       if not ok and cell_id not in exercise_cells]
    if lesson_failures:
        raise RuntimeError(f"lesson cells {lesson_failures} of {path.name} failed before any "
                           "answer could be checked: is the kit installed as README.md says?")
    graded_sources = {cell.id: cell.source for cell in grading.cells}
    return [_verdict(ex, outcomes, STUB[1] not in
                     {line.strip() for line in graded_sources[ex.answer_id].split("\n")})
            for ex in exercises]
