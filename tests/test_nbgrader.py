"""nbgrader grades the lessons as the kit's checker does.

The exercise cells of every notebook carry nbgrader's cell metadata (derived from the exercise
markers by ckpt_kit.exercises), and a course folder made by ckpt_kit.nbgrader_course works with
the real nbgrader from PyPI: `generate_assignment` releases the kit's student notebook, and
`autograde` gives each exercise the point the kit's checker says it earns.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import fill, run_checker
from exercise_answers import ANSWERS
from test_exercises import _exercise_notebook

from ckpt_kit.exercises import (
    POINTS,
    SOLUTION_BEGIN,
    STUB,
    clean_notebook,
    find_exercises,
    make_student_notebook,
)
from ckpt_kit.nbgrader_course import CELL_TIMEOUT, COURSE_ID, make_course
from ckpt_kit.paths import NOTEBOOKS_DIR, SOLUTIONS_DIR

SOLUTIONS = sorted(SOLUTIONS_DIR.glob("*.ipynb"))
BOTH_VERSIONS = [path for solution in SOLUTIONS
                 for path in (solution, NOTEBOOKS_DIR / solution.name)]


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def expected_metadata(grade_id: str, answer: bool) -> dict:
    """What nbgrader's "Create Assignment" toolbar writes for an autograded answer / test cell."""
    if answer:
        return {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3,
                "solution": True, "task": False}
    return {"grade": True, "grade_id": grade_id, "locked": True, "points": POINTS,
            "schema_version": 3, "solution": False, "task": False}


# --- the metadata ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", BOTH_VERSIONS,
                         ids=[f"{p.parent.name}/{p.stem}" for p in BOTH_VERSIONS])
def test_exercise_cells_carry_nbgrader_metadata_and_only_they_do(path):
    from nbgrader.nbgraderformat import MetadataValidator

    nb = read(path)
    expected = {}
    for ex in find_exercises(read(SOLUTIONS_DIR / path.name)):
        expected[ex.answer_id] = expected_metadata(ex.answer_id, answer=True)
        expected[ex.check_id] = expected_metadata(ex.check_id, answer=False)
    found = {cell.id: cell.metadata["nbgrader"] for cell in nb.cells if "nbgrader" in cell.metadata}
    assert found == expected
    grade_ids = [meta["grade_id"] for meta in found.values()]
    assert len(set(grade_ids)) == len(grade_ids)
    MetadataValidator().validate_nb(nb)  # nbgrader's own check: schema, ids, points


def test_clean_notebook_derives_the_metadata_from_the_markers():
    nb = _exercise_notebook()
    nb.cells[1].metadata["nbgrader"] = expected_metadata("lesson", answer=True)  # stale: no marker
    nb.cells[3].metadata["nbgrader"] = {"grade": True, "points": 5}  # edited by hand
    clean_notebook(nb)
    assert [cell.metadata.get("nbgrader") for cell in nb.cells] == [
        None, None, expected_metadata("a1", answer=True), expected_metadata("c1", answer=False)]
    student = make_student_notebook(nb)
    assert [cell.metadata for cell in student.cells] == [cell.metadata for cell in nb.cells]


# --- the course folder -----------------------------------------------------------------------


def test_make_course_writes_a_source_assignment_per_lesson_and_the_config(tmp_path):
    course = make_course(tmp_path / "course", ["05", "01"])
    names = sorted(str(p.relative_to(course)) for p in course.rglob("*") if p.is_file())
    assert names == ["nbgrader_config.py", "source/01_define_the_net/01_define_the_net.ipynb",
                     "source/05_across_devices/05_across_devices.ipynb"]
    config = (course / "nbgrader_config.py").read_text()
    assert f'course_id = "{COURSE_ID}"' in config
    assert f"c.Execute.timeout = {CELL_TIMEOUT}" in config
    source = read(course / "source/01_define_the_net/01_define_the_net.ipynb")
    # the answers stay for generate_assignment to blank; the outputs students must not see go
    assert source == make_student_notebook(read(SOLUTIONS[0]), blank=False)
    assert SOLUTION_BEGIN in nbformat.writes(source)


def test_make_course_takes_every_lesson_by_default(tmp_path):
    course = make_course(tmp_path / "course")
    assert sorted(p.name for p in (course / "source").iterdir()) == [p.stem for p in SOLUTIONS]


@pytest.mark.parametrize("lesson", ["99", "0", ""])
def test_make_course_refuses_a_lesson_it_cannot_name(tmp_path, lesson):
    with pytest.raises(ValueError, match="the lessons are: 01_define_the_net "):
        make_course(tmp_path / "course", [lesson])
    assert not (tmp_path / "course").exists()


def test_make_course_refuses_a_folder_in_use(tmp_path):
    (tmp_path / "course").mkdir()
    (tmp_path / "course" / "gradebook.db").write_bytes(b"")
    with pytest.raises(FileExistsError, match="not an empty folder"):
        make_course(tmp_path / "course", ["01"])
    (tmp_path / "file").write_text("")
    with pytest.raises(FileExistsError):
        make_course(tmp_path / "file", ["01"])
    (tmp_path / "empty").mkdir()  # an empty folder is fine, as is a new one
    assert (make_course(tmp_path / "empty", ["01"]) / "nbgrader_config.py").is_file()


# --- the real nbgrader, end to end -----------------------------------------------------------

LESSON = "01_define_the_net"


def nbgrader(course: Path, *args: str) -> str:
    """Run the nbgrader command line in ``course``, with a home and Jupyter folders of its own."""
    home = course.parent / "home"
    env = {**os.environ, "HOME": str(home), "IPYTHONDIR": str(home / "ipython"),
           "JUPYTER_CONFIG_DIR": str(home / "jupyter"), "JUPYTER_DATA_DIR": str(home / "data"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           # nbgrader runs the `alembic` command by name when it creates the gradebook
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def submit(course: Path, student: str, nb: nbformat.NotebookNode) -> Path:
    """Put a notebook where `nbgrader collect` puts a student's submission."""
    path = course / "submitted" / student / LESSON / f"{LESSON}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    return path


def autograded_points(course: Path, student: str) -> dict[str, float]:
    """The points nbgrader's gradebook holds for each test cell of a student's submission."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=COURSE_ID) as gradebook:
        notebook = gradebook.find_submission_notebook(LESSON, LESSON, student)
        return {grade.name: grade.auto_score for grade in notebook.grades}


@pytest.mark.slow  # 70-80 s on 2 cores: generate_assignment, 3 autogrades, 3 checker runs
def test_nbgrader_autograde_agrees_with_the_kit_s_checker(tmp_path):
    name = f"{LESSON}.ipynb"
    exercises = find_exercises(read(SOLUTIONS_DIR / name))
    course = make_course(tmp_path / "course", [LESSON[:2]])
    nbgrader(course, "generate_assignment", LESSON)

    released = read(course / "release" / LESSON / name)
    student = read(NOTEBOOKS_DIR / name)  # nbgrader's release is the kit's student notebook
    assert [(c.id, c.source, c.get("outputs")) for c in released.cells] == [
        (c.id, c.source, c.get("outputs")) for c in student.cells]
    cells = {cell.id: cell for cell in released.cells}
    for ex in exercises:
        assert STUB[1] in cells[ex.answer_id].source
        assert cells[ex.check_id].metadata["editable"] is False  # nbgrader locked the check

    # typical wrong answers to Exercises 1 and 3 (the first listed: (answer, hint) pairs), and a
    # right one to Exercise 2, so that the comparison per exercise is not all zeros
    answers = {1: ANSWERS[name][1]["wrong"][0][0], 2: ANSWERS[name][2]["right"][0],
               3: ANSWERS[name][3]["wrong"][0][0]}
    wrong = read(course / "release" / LESSON / name)
    cells = {cell.id: cell for cell in wrong.cells}
    for ex in exercises:
        cells[ex.answer_id].source = fill(cells[ex.answer_id].source, answers[ex.number])
    submissions = {"correct": submit(course, "correct", read(SOLUTIONS_DIR / name)),
                   "wrong": submit(course, "wrong", wrong),
                   "blank": submit(course, "blank", released)}
    nbgrader(course, "autograde", LESSON)

    verdicts = {}
    for student_id, path in submissions.items():
        _, messages, output = run_checker(path)
        verdicts[student_id] = {n: message == "passed" for n, message in messages.items()}
        points = autograded_points(course, student_id)
        assert points == {ex.check_id: POINTS * verdicts[student_id][ex.number]
                          for ex in exercises}, (student_id, output)
    assert verdicts == {"correct": {1: True, 2: True, 3: True},
                        "wrong": {1: False, 2: True, 3: False},
                        "blank": {1: False, 2: False, 3: False}}
