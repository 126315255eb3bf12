"""The kit's command line: ``python -m ckpt_helpers check | student | inspect``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ckpt_kit.errors import CheckpointError
from ckpt_kit.paths import KIT_DIR


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


def _check(notebook: Path) -> int:
    from ckpt_kit.checker import check_notebook

    print(f"Checking {notebook.name}: running the lesson with your answers...", flush=True)
    try:
        results = check_notebook(notebook)
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for result in results:
        title = f" ({result.exercise.title})" if result.exercise.title else ""
        print(f"  Exercise {result.exercise.number}{title}: {result.message}")
    passed = sum(result.passed for result in results)
    print(f"{passed} of {len(results)} exercises passed.")
    return 0 if passed == len(results) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ckpt_helpers check NOTEBOOK``, ``... student`` or ``... inspect FILE``."""
    parser = argparse.ArgumentParser(
        prog="python -m ckpt_helpers",
        description="The kit's tools: check a student notebook, regenerate the student "
                    "notebooks, or inspect checkpoint files.")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="check the exercises of a student notebook")
    check.add_argument("notebook", type=Path)
    student = commands.add_parser("student", help="regenerate notebooks/*.ipynb from solutions/")
    student.add_argument("--execute", action="store_true",
                         help="re-run every instructor notebook first and store its outputs")
    student.add_argument("lessons", nargs="*", metavar="NN",
                         help="only these lessons (e.g. 03 04); all when none is given")
    inspect = commands.add_parser("inspect", help="tell what a checkpoint file holds, "
                                                  "without running anything in it")
    inspect.add_argument("files", type=Path, nargs="+", metavar="FILE")
    args = parser.parse_args(argv)
    if args.command == "inspect":
        return _inspect(args.files)
    if args.command == "student":
        return _student(args.execute, args.lessons)
    return _check(args.notebook)
