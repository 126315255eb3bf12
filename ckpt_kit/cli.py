"""The kit's command line: ``python -m ckpt_helpers check | grade | student | translate |
inspect | mutants | nbgrader-course``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ckpt_kit.errors import CheckpointError
from ckpt_kit.paths import KIT_DIR, SOLUTIONS_DIR

# the commands that work on the instructor notebooks, which only a clone of the kit has
_NEED_SOLUTIONS = ("student", "mutants", "nbgrader-course", "translate")


def _inspect(files: Sequence[Path]) -> int:
    from ckpt_kit.inspection import inspect_checkpoint

    status = 0
    for i, path in enumerate(files):
        try:
            print(("\n" if i else "") + str(inspect_checkpoint(path)))
        except CheckpointError as error:
            print(f"error: {error}", file=sys.stderr)
            status = 2
    return status


def _student(execute: bool, lessons: Sequence[str]) -> int:
    from ckpt_kit.exercises import write_student_notebooks

    for path in write_student_notebooks(execute=execute, lessons=tuple(lessons)):
        print(f"wrote {path.relative_to(KIT_DIR)}")
    return 0


def _translate(lang: str, execute: bool, lessons: Sequence[str]) -> int:
    from ckpt_kit.editions import write_edition
    from ckpt_kit.translation import problems, update_catalogs

    for path in update_catalogs(lang):
        print(f"updated {path.relative_to(KIT_DIR)}")
    for path, english in write_edition(lang, execute, lessons=tuple(lessons)).items():
        left = f" ({len(english)} cells still in English)" if english else ""
        print(f"wrote {path.relative_to(KIT_DIR)} and solutions/{path.name}{left}")
    found = problems(lang)
    if found:
        print(f"{len(found)} catalog entries need a translator (tests/test_translation.py "
              "names each):", *found[:10], sep="\n  ")
    return 0


def _language(notebook: Path, option: str | None) -> str:
    """The language to report in: ``--lang``, else the notebook's own, else English."""
    from ckpt_kit.i18n import file_language, language

    return language(option) if option else file_language(notebook)


def _titles(notebook: Path) -> dict[str, str]:
    """The exercise titles of a translated notebook, by the id of their check cells."""
    import nbformat

    from ckpt_kit.exercises import _CHECK_LINE

    try:
        cells = nbformat.read(notebook, as_version=4).cells
    except Exception:  # the checker itself says what is wrong with the file
        return {}
    return {cell.get("id"): match.group(2).strip() for cell in cells
            if cell.cell_type == "code" and (match := _CHECK_LINE.match(cell.source.lstrip()))}


def _check(notebook: Path, timeout: float, lang_option: str | None = None) -> int:
    from ckpt_kit.checker import check_notebook
    from ckpt_kit.i18n import DEFAULT, translate

    try:
        lang = _language(notebook, lang_option)
    except ValueError as error:  # --lang names a language the kit does not speak
        print(f"error: {error}", file=sys.stderr)
        return 2

    def say(message: str) -> str:
        return translate(message, lang)

    print(say(f"Checking {notebook.name}: running the lesson with your answers..."), flush=True)
    try:
        results = check_notebook(notebook, timeout)
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        print(say(f"error: {error}"), file=sys.stderr)
        return 2
    titles = _titles(notebook) if lang != DEFAULT else {}
    for result in results:
        exercise, message = result.exercise, say(result.message)
        if lang == DEFAULT:
            title = f" ({exercise.title})" if exercise.title else ""
            print(f"  Exercise {exercise.number}{title}: {message}")
        else:
            title = titles.get(exercise.check_id) or exercise.title
            print(say(f"  Exercise {exercise.number} ({title}): {message}"))
        if result.note:
            print(say(f"    (note: {result.note})"))
    passed = sum(result.passed for result in results)
    print(say(f"{passed} of {len(results)} exercises passed."))
    touched = [str(r.exercise.number) for r in results if r.note]
    if touched:  # graded with the lesson's checks, but the student's own notebook lost them
        print(say(f"Your notebook's check cells of Exercise {', '.join(touched)} are missing or "
                  "edited: copy them back from a fresh copy of the lesson, to run them "
                  "yourself."))
    return 0 if passed == len(results) and not touched else 1


def _mutants(lessons: Sequence[str], jobs: int, readme: bool) -> int:
    from ckpt_kit.mutants import (MIN_MUTANTS, equivalents, run_campaign, table,
                                  write_into_readme)

    reports = run_campaign(lessons, jobs)
    print(table(reports))
    for report in reports:
        where = f"{report.lesson[:2]} Exercise {report.number}"
        for mutant_id in report.surviving:
            print(f"SURVIVES  {where}: {mutant_id}")
        for mutant_id in report.stale:
            print(f"STALE     {where}: listed as equivalent, but killed or no longer made: "
                  f"{mutant_id}")
        if report.generated - len(report.equivalent) < MIN_MUTANTS:
            print(f"TOO FEW   {where}: {report.generated - len(report.equivalent)} mutants that "
                  f"are not equivalent, fewer than {MIN_MUTANTS}")
    if readme:
        write_into_readme(KIT_DIR / "README.md", f"{table(reports)}\n\n"
                                                 f"{equivalents([r.lesson for r in reports])}")
    failed = [r for r in reports if not r.ok]
    print(f"{len(reports) - len(failed)} of {len(reports)} exercises: every mutant killed or "
          "listed as equivalent.")
    return 1 if failed else 0


def _grade(submissions: Path, out: Path, jobs: int, timeout: float, memory: float) -> int:
    from ckpt_kit.gradebook import grade_class
    from ckpt_kit.sandbox import Limits

    if jobs < 1 or timeout <= 0 or memory <= 0:
        print("error: --jobs, --timeout and --memory must be positive", file=sys.stderr)
        return 2
    try:
        print(grade_class(submissions, out, jobs, timeout, Limits(memory=int(memory * 2**30))))
    except (FileNotFoundError, ValueError, PermissionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def _nbgrader_course(course_dir: Path, lessons: Sequence[str]) -> int:
    from ckpt_kit.nbgrader_course import make_course

    try:
        course = make_course(course_dir, lessons)
    except (ValueError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in [*sorted(course.rglob("*.ipynb")), course / "nbgrader_config.py"]:
        print(f"wrote {path}")
    print(f"then, in {course}: nbgrader generate_assignment ASSIGNMENT (see README.md)")
    return 0


def _parser() -> argparse.ArgumentParser:
    """The command line's commands and their options."""
    parser = argparse.ArgumentParser(
        prog="python -m ckpt_helpers",
        description="The kit's tools: check a student notebook, grade a class, regenerate "
                    "the student notebooks, or inspect checkpoint files.")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="check the exercises of a student notebook")
    check.add_argument("notebook", type=Path)
    check.add_argument("--timeout", type=float, default=300, metavar="SECONDS",
                       help="time each answer and its check may take (300)")
    check.add_argument("--lang", metavar="LANG", help="report in this language (en, zh-CN); "
                                                      "by default the notebook's own")
    student = commands.add_parser("student", help="regenerate notebooks/*.ipynb from solutions/")
    student.add_argument("--execute", action="store_true",
                         help="re-run every instructor notebook first and store its outputs")
    student.add_argument("lessons", nargs="*", metavar="NN",
                         help="only these lessons (e.g. 03 04); all when none is given")
    translate = commands.add_parser("translate", help="update the translation catalogs from "
                                                      "the English lessons and write notebooks/zh")
    translate.add_argument("--lang", default="zh-CN", help="the edition's language (zh-CN)")
    translate.add_argument("--execute", action="store_true",
                           help="re-run every translated instructor notebook, storing its outputs")
    translate.add_argument("lessons", nargs="*", metavar="NN",
                           help="only these lessons (e.g. 03 04); all when none is given")
    inspect = commands.add_parser("inspect", help="tell what a checkpoint file holds, "
                                                  "without running anything in it")
    inspect.add_argument("files", type=Path, nargs="+", metavar="FILE")
    mutants = commands.add_parser("mutants", help="mutation-test the exercise checks: does "
                                                  "each check fail small changes of its solution?")
    mutants.add_argument("lessons", nargs="*", metavar="NN", help="only these lessons (e.g. 03)")
    mutants.add_argument("--jobs", type=int, default=2, help="lessons graded at once (2)")
    mutants.add_argument("--readme", action="store_true",
                         help="write the table into README.md between its markers")
    grade = commands.add_parser("grade", help="grade a class: one folder per student, "
                                              "into a gradebook, feedback and a summary")
    grade.add_argument("submissions", type=Path, metavar="SUBMISSIONS",
                       help="a folder with one folder per student (named after the student)")
    grade.add_argument("--out", type=Path, required=True, metavar="RESULTS",
                       help="where to write gradebook.csv, feedback/ and summary.html")
    grade.add_argument("--jobs", type=int, default=2, help="notebooks graded at once (2)")
    grade.add_argument("--timeout", type=float, default=120, metavar="SECONDS",
                       help="time each answer and its check may take (120)")
    grade.add_argument("--memory", type=float, default=4, metavar="GIB",
                       help="memory each submission may use on top of the lesson's (4)")
    course = commands.add_parser("nbgrader-course", help="write an nbgrader course folder: each "
                                                         "lesson an assignment, ready to autograde")
    course.add_argument("course_dir", type=Path, metavar="COURSE_DIR",
                        help="a new or empty folder for the course")
    course.add_argument("lessons", nargs="*", metavar="NN",
                        help="only these lessons (e.g. 01 02); all when none is given")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ckpt_helpers check NOTEBOOK``, ``... student`` or ``... inspect FILE``."""
    args = _parser().parse_args(argv)
    if args.command in _NEED_SOLUTIONS and not SOLUTIONS_DIR.is_dir():
        print(f"error: `{args.command}` works on the instructor notebooks, in a clone of the kit "
              f"(notebooks/solutions/), and {SOLUTIONS_DIR} is not there: an installed kit "
              "carries the lessons without their solutions. Run it in the kit's clone.",
              file=sys.stderr)
        return 2
    if args.command == "nbgrader-course":
        return _nbgrader_course(args.course_dir, args.lessons)
    if args.command == "grade":
        return _grade(args.submissions, args.out, args.jobs, args.timeout, args.memory)
    if args.command == "mutants":
        return _mutants(args.lessons, args.jobs, args.readme)
    if args.command == "inspect":
        return _inspect(args.files)
    if args.command == "translate":
        return _translate(args.lang, args.execute, args.lessons)
    if args.command == "student":
        return _student(args.execute, args.lessons)
    return _check(args.notebook, args.timeout, args.lang)
