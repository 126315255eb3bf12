"""An nbgrader course folder made from the instructor notebooks, one assignment per lesson.

    course/
        nbgrader_config.py                        the course id, the time a cell may run, ...
        source/01_define_the_net/01_define_the_net.ipynb
        source/02_train/02_train.ipynb            ... one folder per lesson

Each source notebook is the instructor notebook with the outputs of its exercise cells and its
"Predict" cells cleared; its cells carry the nbgrader metadata that ``ckpt_kit.exercises``
derives from the exercise markers. ``nbgrader generate_assignment`` turns it into the student
notebook of ``notebooks/``; ``nbgrader autograde`` runs a submission and gives each check cell
that does not raise its point. The lessons need no other files: the data and the checks come from
the installed kit (``ckpt_helpers.DATA_DIR``, ``ckpt_kit.checks``), and whatever a lesson writes
(checkpoints, lesson 10's ``train_sharded.py``) it writes into the folder it runs in. So the
machine that autogrades needs the kit installed, as README.md says.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ckpt_kit.exercises import make_student_notebook
from ckpt_kit.paths import SOLUTIONS_DIR

COURSE_ID = "ckpt-kit"
# Seconds a cell may run under autograde: as long as the kit's checker gives each answer and its
# check. No cell of a lesson comes near nbgrader's default of 30 s on an idle machine, but a
# grading machine runs many submissions at once, and a timeout costs the student the point.
CELL_TIMEOUT = 300

_CONFIG = '''\
"""nbgrader's settings for this course (written by `python -m ckpt_helpers nbgrader-course`)."""

c = get_config()  # noqa: F821 - nbgrader defines it

c.CourseDirectory.course_id = "{course_id}"
# seconds a cell may run when autograde executes a submission (nbgrader's default: 30)
c.Execute.timeout = {timeout}
# the released notebooks keep the lessons' outputs, as the kit's student notebooks do (the source
# notebooks hold none for the exercises and the "Predict" cells); set for generate_assignment
# only (its exporter's ClearOutput step): autograde still clears a submission's outputs first
c.GenerateAssignment.Exporter.ClearOutput.enabled = False
# where release_assignment, fetch_assignment, submit and collect exchange the files: a folder
# every student can write to (nbgrader's default: /srv/nbgrader/exchange)
# c.Exchange.root = "/srv/nbgrader/exchange"
'''


def _lesson_notebooks(lessons: Sequence[str], solutions_dir: Path) -> list[Path]:
    """The instructor notebooks of ``lessons`` (``"03"`` or a whole name), all when empty."""
    notebooks = sorted(solutions_dir.glob("*.ipynb"))
    if not lessons:
        return notebooks
    chosen = []
    for lesson in lessons:
        found = [path for path in notebooks if path.name.startswith(lesson)]
        if len(found) != 1:
            known = " ".join(path.stem for path in notebooks)
            raise ValueError(f"{lesson!r} names {len(found)} lessons, not one: pass the number "
                             f"of a lesson (e.g. 01) or its name; the lessons are: {known}")
        chosen += [path for path in found if path not in chosen]
    return chosen


def make_course(course_dir: Path, lessons: Sequence[str] = (), *,
                solutions_dir: Path = SOLUTIONS_DIR) -> Path:
    """Write an nbgrader course folder for ``lessons`` (all when empty) and return it.

    ``course_dir`` must be new or empty: nbgrader keeps its gradebook and the students' files
    there. ``ValueError`` for a lesson that does not exist, ``FileExistsError`` for a folder in use.

    >>> make_course(Path("course"), ["99"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: '99' names 0 lessons, not one: pass the number of a lesson (e.g. 01) or its ...
    """
    import nbformat

    course_dir = Path(course_dir)
    notebooks = _lesson_notebooks(lessons, Path(solutions_dir))
    if course_dir.exists() and (not course_dir.is_dir() or any(course_dir.iterdir())):
        raise FileExistsError(f"{course_dir} exists and is not an empty folder: pass a new "
                              "folder for the course, or remove this one")
    for solution_path in notebooks:
        assignment = course_dir / "source" / solution_path.stem
        assignment.mkdir(parents=True)
        solution = nbformat.read(solution_path, as_version=4)
        nbformat.write(make_student_notebook(solution, blank=False),
                       assignment / solution_path.name)
    (course_dir / "nbgrader_config.py").write_text(
        _CONFIG.format(course_id=COURSE_ID, timeout=CELL_TIMEOUT), encoding="utf-8")
    return course_dir
