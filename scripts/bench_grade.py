"""Benchmark: grading a class with `grade` against running `check` once per notebook.

For each lesson it makes a class of 60 students (default) with mixed answers to every exercise,
taken from the answers the tests list (tests/answers/): blank, right, typical wrong ones, and
every twentieth file not JSON. Then it times

- `python -m ckpt_helpers grade CLASS --out RESULTS --jobs 2` (one run, all 60 notebooks), and
- `python -m ckpt_helpers check NOTEBOOK` one after another, as a shell loop would: on every
  notebook with --check all, or on an evenly spread sample (--check 10, the default), whose mean
  time per notebook is multiplied by the class size,

and compares the verdicts of every notebook both graded. Run it alone on the machine:

    python scripts/bench_grade.py 01 03 --students 60 --check 10
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

KIT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(KIT / "tests")]

from conftest import fill
from exercise_answers import ANSWERS

from ckpt_kit.exercises import find_exercises
from ckpt_kit.paths import NOTEBOOKS_DIR, SOLUTIONS_DIR

_RESULT = re.compile(r"^  Exercise (\d+)(?: \(.*?\))?: (.*)$")


def make_class(root: Path, lesson: str, students: int) -> list[Path]:
    """``students`` folders, each with one notebook of ``lesson`` with mixed answers."""
    exercises = find_exercises(nbformat.read(SOLUTIONS_DIR / lesson, as_version=4))
    paths = []
    for i in range(students):
        path = root / f"student{i:03d}" / lesson
        path.parent.mkdir(parents=True)
        paths.append(path)
        if i % 20 == 19:
            path.write_text('{"cells": [', encoding="utf-8")
            continue
        nb = nbformat.read(NOTEBOOKS_DIR / lesson, as_version=4)
        cells = {cell.id: cell for cell in nb.cells}
        for ex in exercises:
            listed = ANSWERS[lesson][ex.number]
            options = [None, *listed["right"], *(answer for answer, _hint in listed["wrong"])]
            answer = options[(i + 7 * ex.number) % len(options)]
            if answer is not None:
                cells[ex.answer_id].source = fill(cells[ex.answer_id].source, answer)
        nbformat.write(nb, path)
    return paths


def run_check(path: Path) -> tuple[float, list[tuple[bool, str]] | str]:
    """Time `check` on one notebook; its verdicts (passed, message), or its error line."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ckpt_helpers", "check", str(path)],
                          capture_output=True, text=True, cwd=path.parent)
    seconds = time.perf_counter() - start
    verdicts = [(m.group(2) == "passed", m.group(2)) for line in proc.stdout.splitlines()
                if (m := _RESULT.match(line))]
    return seconds, verdicts or proc.stderr.strip().removeprefix("error: ")


def bench(lesson: str, students: int, sample: int | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as tmp:
        root = Path(tmp)
        paths = make_class(root / "class", lesson, students)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "ckpt_helpers", "grade", str(root / "class"),
                               "--out", str(root / "results"), "--jobs", "2"],
                              capture_output=True, text=True)
        grade_s = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"grade failed:\n{proc.stderr[-2000:]}")
        with open(root / "results" / "gradebook.csv", newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
        step = max(1, students // sample) if sample else 1
        chosen = paths[::step][: sample or students]
        times, mismatches = [], []
        for path in chosen:
            seconds, verdicts = run_check(path)
            times.append(seconds)
            # check prints each message's first line: compare those
            mine = [(r["verdict"] == "passed", r["message"].split("\n")[0]) for r in rows
                    if r["student"] == path.parent.name]
            expected = verdicts if isinstance(verdicts, list) else [
                (False, verdicts.replace(str(path), f"your {lesson}"))] * len(mine)
            if mine != expected:
                mismatches.append((path.parent.name, mine, expected))
    check_s = statistics.mean(times) * students
    return {"lesson": lesson, "students": students, "grade_s": grade_s, "checked": len(chosen),
            "check_each_s": statistics.mean(times), "check_s": check_s,
            "ratio": check_s / grade_s, "mismatches": mismatches,
            "passed": sum(r["verdict"] == "passed" for r in rows), "rows": len(rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("lessons", nargs="*", help="lesson numbers (all when none)")
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--check", default="10", help="how many notebooks `check` runs "
                                                      "(a number, or all)")
    args = parser.parse_args()
    sample = None if args.check == "all" else int(args.check)
    names = [p.name for p in sorted(SOLUTIONS_DIR.glob("*.ipynb"))
             if not args.lessons or p.name[:2] in args.lessons]
    print("| lesson | notebooks | `grade --jobs 2` | `check` one by one | faster | verdicts |")
    print("|---|---|---|---|---|---|")
    for name in names:
        r = bench(name, args.students, sample)
        same = "identical" if not r["mismatches"] else f"{len(r['mismatches'])} differ"
        basis = ("all run" if r["checked"] == r["students"] else
                 f"{r['checked']} run, {r['check_each_s']:.1f} s each × {r['students']}")
        print(f"| {name[:2]} | {r['students']} | {r['grade_s']:.0f} s | {r['check_s']:.0f} s "
              f"({basis}) | {r['ratio']:.1f}× | {same} ({r['checked']} compared) |", flush=True)
        for who, mine, expected in r["mismatches"]:
            print(f"    {who}: grade {mine}\n    {' ' * len(who)}  check {expected}")


if __name__ == "__main__":
    main()
