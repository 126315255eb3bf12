"""ckpt_kit.exercises: exercises found in instructor notebooks, and the student notebooks made
from them (also as `python -m ckpt_helpers student`)."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from ckpt_kit.environment import SETUP_CELL, SETUP_CELL_ID
from ckpt_kit.exercises import (Exercise, clean_notebook, find_exercises, make_student_notebook,
                                write_student_notebooks)


def _cell(kind, cell_id, source):
    cell = new_code_cell(source) if kind == "code" else new_markdown_cell(source)
    cell.id = cell_id
    return cell


def _exercise_notebook():
    return new_notebook(cells=[
        _cell("md", "intro", "# Lesson"),
        _cell("code", "lesson", "x = 1"),
        _cell("code", "a1", "# Exercise 1: your answer\ndef f():\n    ### BEGIN SOLUTION\n"
                            "    return 2\n    ### END SOLUTION"),
        _cell("code", "c1", "# Check: Exercise 1 - call f\nassert f() == 2\nprint('ok')"),
    ])


def test_find_exercises_pairs_answers_with_checks():
    assert find_exercises(_exercise_notebook()) == [
        Exercise(1, "call f", "a1", "c1")]


@pytest.mark.parametrize("cells, message", [
    ([("c1", "# Check: Exercise 1 - x\npass")], "no answer cell"),
    ([("a1", "### BEGIN SOLUTION\n### END SOLUTION")], "not followed by a check"),
    ([("a1", "### BEGIN SOLUTION\n### END SOLUTION"), ("a2", "### BEGIN SOLUTION\n"
      "### END SOLUTION"), ("c2", "# Check: Exercise 2\npass")], "not followed by a check"),
])
def test_find_exercises_rejects_malformed_notebooks(cells, message):
    nb = new_notebook(cells=[_cell("code", i, s) for i, s in cells])
    with pytest.raises(ValueError, match=message):
        find_exercises(nb)


def test_student_notebook_blanks_answers_at_their_indent_and_clears_outputs():
    nb = _exercise_notebook()
    for cell in nb.cells[1:]:
        cell.outputs = [nbformat.v4.new_output("stream", text="out\n")]
        cell.execution_count = 1
    student = make_student_notebook(nb)
    assert student.cells[2].source == ("# Exercise 1: your answer\ndef f():\n"
                                       "    # YOUR CODE HERE\n    raise NotImplementedError()")
    assert student.cells[3].source == nb.cells[3].source  # the check stays, its output goes
    assert [c.outputs for c in student.cells[2:]] == [[], []]
    assert [c.execution_count for c in student.cells[2:]] == [None, None]
    assert student.cells[1].outputs == nb.cells[1].outputs  # lesson outputs stay
    assert nb.cells[2].outputs  # the instructor notebook is untouched


def test_student_notebook_rejects_an_unclosed_solution():
    nb = new_notebook(cells=[_cell("code", "a1", "### BEGIN SOLUTION\nx = 1"),
                             _cell("code", "c1", "# Check: Exercise 1\npass")])
    with pytest.raises(ValueError, match="END SOLUTION"):
        make_student_notebook(nb)


def test_clean_notebook_drops_volatile_metadata_and_widget_views():
    nb = _exercise_notebook()
    nb.metadata = {"language_info": {"name": "python", "version": "3.11.7"}, "widgets": {}}
    cell = nb.cells[1]
    cell.metadata = {"execution": {"iopub.execute_input": "2026-01-01"}, "tags": ["x"]}
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={
            "application/vnd.jupyter.widget-view+json": {"model_id": "abc"}, "text/plain": "bar"}),
        nbformat.v4.new_output("stream", text="kept\n")]
    clean_notebook(nb)
    assert nb.metadata["language_info"] == {"name": "python"} and "widgets" not in nb.metadata
    assert cell.metadata == {"tags": ["x"]}
    assert [o.output_type for o in cell.outputs] == ["stream"]


def test_clean_notebook_joins_stream_outputs_the_kernel_split():
    nb = _exercise_notebook()
    cell = nb.cells[1]
    cell.outputs = [nbformat.v4.new_output("stream", text="same object:"),
                    nbformat.v4.new_output("stream", text=" True\n"),
                    nbformat.v4.new_output("stream", name="stderr", text="warning\n"),
                    nbformat.v4.new_output("stream", text="last\n")]
    clean_notebook(nb)
    assert [(o.name, o.text) for o in cell.outputs] == [
        ("stdout", "same object: True\n"), ("stderr", "warning\n"), ("stdout", "last\n")]


def test_student_command_writes_every_student_notebook_and_cleans_the_instructor_one(tmp_path):
    solutions, students = tmp_path / "solutions", tmp_path
    solutions.mkdir()
    nb = _exercise_notebook()
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7"}  # volatile
    nbformat.write(nb, solutions / "01_lesson.ipynb")
    references = tmp_path / "references"
    references.mkdir()
    written = write_student_notebooks(solutions_dir=solutions, students_dir=students,
                                      references_dir=references)
    assert written == [students / "01_lesson.ipynb"]
    student = nbformat.read(written[0], as_version=4)
    assert student.cells[1].id == SETUP_CELL_ID  # the set-up cell, first of the code cells
    assert "raise NotImplementedError()" in student.cells[3].source
    assert "### BEGIN SOLUTION" not in nbformat.writes(student)
    reference = nbformat.read(references / "01_lesson.ipynb", as_version=4)
    assert "return 2" not in nbformat.writes(reference)  # no solution for the checker either
    assert [e.answer_id for e in find_exercises(reference)] == [student.cells[3].id]
    cleaned = nbformat.read(solutions / "01_lesson.ipynb", as_version=4)
    assert cleaned.metadata["language_info"] == {"name": "python"}
    assert "return 2" in cleaned.cells[3].source  # the instructor's answer stays


def test_student_command_with_execute_stores_fresh_outputs(tmp_path):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    nb = _exercise_notebook()
    nb.cells[1].source = "x = 1\nprint(x + 1)"
    nbformat.write(nb, solutions / "01_lesson.ipynb")
    write_student_notebooks(execute=True, solutions_dir=solutions, students_dir=tmp_path,
                            references_dir=None)
    ran = nbformat.read(solutions / "01_lesson.ipynb", as_version=4)
    assert ran.cells[1].source == SETUP_CELL and ran.cells[1].outputs == []  # kit installed
    assert ran.cells[2].outputs[0].text == "2\n"
    assert [c.execution_count for c in ran.cells if c.cell_type == "code"] == [1, 2, 3, 4]
    student = nbformat.read(tmp_path / "01_lesson.ipynb", as_version=4)
    assert student.cells[2].outputs[0].text == "2\n"  # lesson outputs stay for students
    assert student.cells[4].outputs == []  # the check's output does not
