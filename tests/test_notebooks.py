"""The notebooks keep the kit's template and conventions, and the student versions are exactly
what `python -m ckpt_helpers student` generates from the instructor versions.

(nbval executes the instructor notebooks themselves: see pyproject.toml.)"""

from __future__ import annotations

import copy
import re

import nbformat
import pytest

from ckpt_kit.exercises import (PREDICT_TAG, SOLUTION_BEGIN, clean_notebook, find_exercises,
                               make_reference_notebook, make_student_notebook)
from ckpt_kit.paths import NOTEBOOKS_DIR, REFERENCES_DIR, SOLUTIONS_DIR

SOLUTIONS = sorted(SOLUTIONS_DIR.glob("*.ipynb"))
IDS = [path.stem for path in SOLUTIONS]


def read(path):
    return nbformat.read(path, as_version=4)


def markdown(nb):
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_every_lesson_has_both_versions():
    assert len(SOLUTIONS) >= 2
    students = sorted(p.name for p in NOTEBOOKS_DIR.glob("*.ipynb"))
    assert students == [p.name for p in SOLUTIONS]


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_lesson_follows_the_template(path):
    text = markdown(read(path))
    number = path.name[:2]
    assert re.match(rf"# {number} · \S", text), "title: '# NN · Topic'"
    headings = ["## What you will learn", "## Prerequisites", "**Time:** teaching",
                "## Step 1 — ", "## Summary", "## Exercises"]
    positions = [text.find(h) for h in headings]
    assert -1 not in positions and positions == sorted(positions), headings
    objectives = re.findall(r"^\d+\. ", text.split("## What you will learn")[1]
                            .split("## Prerequisites")[0], flags=re.M)
    steps = re.findall(r"^## Step (\d+) — ", text, flags=re.M)
    assert steps == [str(i) for i in range(1, len(objectives) + 1)], "one step per objective"


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_lesson_has_two_to_four_exercises_with_headings(path):
    nb = read(path)
    exercises = find_exercises(nb)
    assert 2 <= len(exercises) <= 4
    assert [ex.number for ex in exercises] == list(range(1, len(exercises) + 1))
    text = markdown(nb)
    for ex in exercises:
        assert re.search(rf"^### Exercise {ex.number} — .+\(\d+ min\)$", text, flags=re.M)
    cells = {cell.id: cell for cell in nb.cells}
    for ex in exercises:
        assert cells[ex.answer_id].source.startswith(f"# Exercise {ex.number}: your answer")
        # the check lives in the lesson's check module and runs in a namespace of its own
        assert cells[ex.check_id].source.split("\n")[1:] == [
            f"from ckpt_kit.checks.lesson{path.name[:2]} import check_exercise_{ex.number}",
            f"check_exercise_{ex.number}(globals())"]
        assert [o.get("text") for o in cells[ex.check_id].outputs] == [
            f"Exercise {ex.number}: passed\n"]


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_instructor_notebook_is_clean_and_ran_top_to_bottom(path):
    nb = read(path)
    assert clean_notebook(copy.deepcopy(nb)) == nb, "run `python -m ckpt_helpers student`"
    ids = [cell.id for cell in nb.cells]
    assert len(set(ids)) == len(ids)
    cells = code_cells(nb)
    assert [c.execution_count for c in cells] == list(range(1, len(cells) + 1))
    for cell in cells:
        tags = cell.metadata.get("tags", [])
        for output in cell.outputs:
            assert output.output_type != "error" or "raises-exception" in tags, cell.id
            if "nbval-ignore-output" not in tags:
                assert output.get("name") != "stderr", f"stderr in checked cell {cell.id}"


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_outputs_hold_no_machine_paths_or_addresses(path):
    text = nbformat.writes(read(path))
    assert not re.search(r"/(home|root|work|tmp|Users)/|0x[0-9a-f]{8,}", text)


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_every_torch_load_says_weights_only(path):
    for cell in code_cells(read(path)):
        for call in re.finditer(r"torch\.load\(", cell.source):
            depth, end = 1, call.end()
            while depth:
                depth += {"(": 1, ")": -1}.get(cell.source[end], 0)
                end += 1
            assert "weights_only=" in cell.source[call.end():end], f"{cell.id}: {call.group()}"


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_student_notebook_is_generated_from_the_instructor_notebook(path):
    expected = nbformat.writes(make_student_notebook(read(path)))
    committed = (NOTEBOOKS_DIR / path.name).read_text(encoding="utf-8")
    assert committed.rstrip("\n") == expected.rstrip("\n"), (
        f"notebooks/{path.name} is stale: run `python -m ckpt_helpers student`")
    assert SOLUTION_BEGIN not in committed


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_checker_reference_is_generated_and_holds_no_solution(path):
    solution = read(path)
    expected = nbformat.writes(make_reference_notebook(solution))
    committed = (REFERENCES_DIR / path.name).read_text(encoding="utf-8")
    assert committed.rstrip("\n") == expected.rstrip("\n"), (
        f"ckpt_kit/lessons/{path.name} is stale: run `python -m ckpt_helpers student`")
    reference = nbformat.reads(committed, as_version=4)
    exercises = find_exercises(reference)
    assert [e.number for e in exercises] == [e.number for e in find_exercises(solution)]
    for ex in exercises:  # no line of any solution, and the output each check must print
        cells = {cell.id: cell for cell in reference.cells}
        solved = [line.strip() for line in
                  next(c for c in solution.cells if c.id == ex.answer_id).source.split("\n")]
        inside = solved[solved.index(SOLUTION_BEGIN) + 1:solved.index("### END SOLUTION")]
        assert not {line for line in inside if len(line) > 12} & {
            line.strip() for line in cells[ex.answer_id].source.split("\n")}, ex
        assert f"Exercise {ex.number}: passed" in cells[ex.check_id].outputs[0]["text"]
    assert SOLUTION_BEGIN not in committed


def _teaching_words(nb) -> int:
    """Words of markdown up to and including the cell with the "## Exercises" heading."""
    words = 0
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            words += len(cell.source.split())
            if re.search(r"^## Exercises", cell.source, flags=re.M):
                return words
    raise AssertionError("no ## Exercises heading")


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_the_teaching_part_fits_its_minutes(path):
    # what an instructor teaches in 25 minutes: at most 1,500 words before the exercises; the rest
    # goes into an optional "Going further" section after them
    assert _teaching_words(read(path)) <= 1500


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_going_further_comes_after_the_exercises(path):
    nb = read(path)
    last_check = [cell.id for cell in nb.cells].index(find_exercises(nb)[-1].check_id)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and re.search(r"^## Going further", cell.source, re.M):
            assert i > last_check and "## Going further (optional)" in cell.source


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_predict_cells_ask_first_and_ship_without_their_output(path):
    solution, student = read(path), read(NOTEBOOKS_DIR / path.name)
    shipped = {cell.id: cell for cell in student.cells}
    for i, cell in enumerate(solution.cells):
        if PREDICT_TAG in cell.metadata.get("tags", []):
            before = solution.cells[i - 1]
            assert before.cell_type == "markdown" and "**Predict:**" in before.source, cell.id
            assert cell.outputs, f"{cell.id}: the instructor notebook keeps the answer"
            assert shipped[cell.id].outputs == [], f"{cell.id}: students predict before running"


@pytest.mark.parametrize("lesson", ["03", "07"])
def test_the_predictions_the_instructor_guide_asks_for_are_in_the_lesson(lesson):
    path = next(SOLUTIONS_DIR.glob(f"{lesson}_*.ipynb"))
    assert any(PREDICT_TAG in cell.metadata.get("tags", []) for cell in read(path).cells)


@pytest.mark.parametrize("lesson, calls", [
    ("02", [".backward()", ".step()"]),          # the training loop itself, before `train`
    ("04", ["os.fsync(", "os.replace("]),         # the crash-safe save, before save_checkpoint
    ("07", ["pickletools."]),                    # a pickle's imports, before inspect_checkpoint
])
def test_the_mechanics_run_in_a_lesson_cell_before_the_helper(lesson, calls):
    nb = read(next(SOLUTIONS_DIR.glob(f"{lesson}_*.ipynb")))
    exercise_cells = {i for ex in find_exercises(nb) for i in (ex.answer_id, ex.check_id)}
    lesson_code = "\n".join(cell.source for cell in code_cells(nb)
                            if cell.id not in exercise_cells)
    for call in calls:
        assert call in lesson_code, call
