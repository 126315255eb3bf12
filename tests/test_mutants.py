"""Mutation testing of the exercise checks (ckpt_kit.mutants, ckpt_kit.prepared).

- the mutants: each operator, only inside the solution, scripts in strings too;
- the forked grader gives the verdicts the real checker gives, on a sample;
- the campaign: every mutant of every exercise is killed or listed as equivalent (with a
  reason), at least 10 that are not, and the reference solutions pass with every name a check
  could have borrowed from the notebook shadowed by a decoy;
- in the same forked run, every listed answer of tests/answers/ gets its verdict and hint.
"""

from __future__ import annotations

import ast
import multiprocessing
import os
import textwrap

import nbformat
import pytest

from ckpt_kit.exercises import find_exercises
from ckpt_kit.mutants import (MIN_MUTANTS, classify, equivalent_mutants, lesson_mutants, mutants,
                              table)
from ckpt_kit.paths import SOLUTIONS_DIR
from ckpt_kit.prepared import Outcome, grade_lesson, in_fork, solution_region
from conftest import answered_notebook, run_checker
from exercise_answers import ANSWERS

LESSONS = sorted(p.name for p in SOLUTIONS_DIR.glob("*.ipynb"))

ANSWER = '''\
given = load_something()
def best_of(losses, start):
    ### BEGIN SOLUTION
    best = start
    with torch.no_grad():
        state = copy.deepcopy(model.state_dict())
    for loss in losses:
        if loss < best:
            best = loss
    torch.load(path, weights_only=True)
    torch.save(state, path)
    return best
    ### END SOLUTION
'''


def _ids(source: str) -> list[str]:
    return [m.id for m in mutants(source, solution_region(source))]


def test_each_kind_of_mutant_is_made():
    ids = _ids(ANSWER)
    for expected in ["delete statement: best = start → pass",
                     "drop the with: with torch.no_grad():",
                     "drop the wrapping call: copy.deepcopy(model.state_dict()) → "
                     "model.state_dict()",
                     "swap a comparison: loss < best → loss <= best",
                     "flip weights_only=: torch.load(path, weights_only=True) → "
                     "torch.load(path, weights_only=False)",
                     "drop weights_only=: torch.load(path, weights_only=True) → torch.load(path)",
                     "return another local: return best → return loss",
                     "use another parameter: start → losses",
                     "swap two arguments", "negate the condition", "return None"]:
        assert any(i.startswith(expected) for i in ids), (expected, ids)


def test_only_the_solution_changes_and_every_mutant_differs():
    made = mutants(ANSWER, solution_region(ANSWER))
    original = ast.unparse(ast.parse(ANSWER))
    assert len({m.source for m in made}) == len(made) and original not in {m.source for m in made}
    for mutant in made:
        first = ast.parse(mutant.source).body[0]
        assert ast.unparse(first) == "given = load_something()", mutant.id


def test_a_script_in_a_string_is_mutated_inside():
    source = textwrap.dedent('''\
        ### BEGIN SOLUTION
        script = """
        import torch
        x = torch.load("a.pt", weights_only=True)
        torch.save(x, "b.pt")
        """
        ### END SOLUTION
        ''')
    ids = _ids(source)
    assert "in the script, flip weights_only=: torch.load('a.pt', weights_only=True) → " \
           "torch.load('a.pt', weights_only=False)" in ids, ids


def test_the_forked_grader_limits_time_and_survives_a_dying_answer():
    assert in_fork(lambda: Outcome("passed"), 10).passed
    assert in_fork(lambda: os._exit(3), 10).verdict == "error"
    assert in_fork(lambda: (lambda: [None for _ in iter(int, 1)])(), 1).verdict == "timeout"


def _with_answer(cell_source: str, answer: str) -> str:
    """An answer cell with its solution (markers included) replaced by ``answer``."""
    lines = cell_source.split("\n")
    begin = next(i for i, line in enumerate(lines) if line.strip() == "### BEGIN SOLUTION")
    end = next(i for i, line in enumerate(lines) if line.strip() == "### END SOLUTION")
    indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
    return "\n".join(lines[:begin] + [textwrap.indent(answer, indent)] + lines[end + 1:])


@pytest.mark.slow  # four checker runs and one forked run of lesson 01
def test_the_forked_grader_agrees_with_the_checker(tmp_path):
    name = "01_define_the_net.ipynb"
    reference = nbformat.read(SOLUTIONS_DIR / name, as_version=4)
    exercises = find_exercises(reference)
    sources = {cell.id: cell.source for cell in reference.cells}
    generated = lesson_mutants(name)
    samples = [  # per sample, the whole answer cell of each exercise
        {ex.number: _with_answer(sources[ex.answer_id], ANSWERS[name][ex.number]["right"][0])
         for ex in exercises},
        {ex.number: _with_answer(sources[ex.answer_id], ANSWERS[name][ex.number]["wrong"][0][0])
         for ex in exercises},
        {ex.number: generated[ex.number][0].source for ex in exercises},
        {ex.number: generated[ex.number][-1].source for ex in exercises}]
    forked = grade_lesson(name, {ex.number: [s[ex.number] for s in samples] for ex in exercises})
    for k, sample in enumerate(samples):
        (tmp_path / str(k)).mkdir()
        path = answered_notebook(tmp_path / str(k), name, {}, forge_outputs=False)
        nb = nbformat.read(path, as_version=4)
        by_id = {cell.id: cell for cell in nb.cells}
        for ex in exercises:
            by_id[ex.answer_id].source = sample[ex.number]
        nbformat.write(nb, path)
        _, verdicts, output = run_checker(path)
        for ex in exercises:
            assert (verdicts[ex.number] == "passed") == forked[ex.number][k].passed, (
                k, ex.number, verdicts[ex.number], forked[ex.number][k], output)


# --- the campaign ------------------------------------------------------------------------------

# A student's own helper named like a kit function, a torch module or a standard module must not
# change a verdict: after the reference answer, every such name in the notebook is replaced by a
# decoy that raises when touched, except the names the lesson's own functions and the answer read.
DECOY = '''
import types as _types
class _Decoy:
    def __init__(self, name): self._name = name
    def __getattr__(self, attr): raise RuntimeError(f"the check read the notebook's {self._name}")
    def __call__(self, *a, **k): raise RuntimeError(f"the check called the notebook's {self._name}")
for _name, _value in list(globals().items()):
    if _name.startswith("_") or _name in _KEEP:
        continue
    if isinstance(_value, _types.ModuleType):
        _origin = _value.__name__
    elif isinstance(_value, (type, _types.FunctionType, _types.BuiltinFunctionType)):
        _origin = getattr(_value, "__module__", None) or ""
    else:
        continue
    if _origin.split(".")[0] != "__main__":
        globals()[_name] = _Decoy(_name)
'''


def _read_later(source: str) -> set[str]:
    """Names a cell's functions and classes read when called later, and all an answer reads."""
    tree = ast.parse(source)
    bodies = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef,
                                                          ast.Lambda))]
    return {n.id for body in bodies for n in ast.walk(body) if isinstance(n, ast.Name)}


def _decoyed_reference(nb, ex) -> str:
    checks = {e.check_id for e in find_exercises(nb)}
    keep = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.id not in checks:
            keep |= _read_later(cell.source)
    answer = next(c.source for c in nb.cells if c.id == ex.answer_id)
    keep |= {n.id for n in ast.walk(ast.parse(answer)) if isinstance(n, ast.Name)}
    return f"{answer}\n_KEEP = {sorted(keep)!r}\n{DECOY}"


def _campaign_with_decoys(name: str):
    """One forked run of the lesson grading, per exercise: every mutant, the reference with
    decoys, and every listed wrong and right answer."""
    nb = nbformat.read(SOLUTIONS_DIR / name, as_version=4)
    sources = {cell.id: cell.source for cell in nb.cells}
    generated = lesson_mutants(name)
    extra = {}  # per exercise: (whole answer cell, the hint piece it must get or None to pass)
    for ex in find_exercises(nb):
        listed = ANSWERS[name][ex.number]
        extra[ex.number] = [(_decoyed_reference(nb, ex), None)] + [
            (_with_answer(sources[ex.answer_id], answer), piece)
            for answer, piece in listed["wrong"]] + [
            (_with_answer(sources[ex.answer_id], answer), None) for answer in listed["right"]]
    outcomes = grade_lesson(name, {n: [m.source for m in ms] + [a for a, _ in extra[n]]
                                   for n, ms in generated.items()})
    reports = classify(name, generated, {n: o[:len(generated[n])] for n, o in outcomes.items()})
    answered = {n: list(zip(extra[n], o[len(generated[n]):])) for n, o in outcomes.items()}
    return reports, answered


@pytest.fixture(scope="module")
def campaign():
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with multiprocessing.get_context("spawn").Pool(2, maxtasksperchild=1) as pool:
        return dict(zip(LESSONS, pool.map(_campaign_with_decoys, LESSONS, chunksize=1)))


@pytest.mark.slow  # the whole campaign: python -m pytest -m slow
@pytest.mark.parametrize("name", LESSONS)
def test_every_mutant_is_killed_or_a_listed_equivalent(campaign, name):
    reports, _ = campaign[name]
    print(table(reports))
    for report in reports:
        assert not report.surviving, (report.number, report.surviving)
        assert not report.stale, (report.number, report.stale)
        assert report.generated - len(report.equivalent) >= MIN_MUTANTS, report


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSONS)
def test_shadowing_the_names_a_check_could_borrow_changes_no_verdict(campaign, name):
    _, answered = campaign[name]
    for number, results in answered.items():
        (_, _), outcome = results[0]  # the reference solution, with decoys after it
        assert outcome.passed, (number, outcome)


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSONS)
def test_every_listed_answer_gets_its_verdict_and_hint(campaign, name):
    # every answer in tests/answers/, graded in the forked run (the checker runs a sample of them
    # end to end, in test_checker.py and test_checker_wrong_answers.py)
    _, answered = campaign[name]
    for number, results in answered.items():
        for (answer, piece), outcome in results[1:]:
            if piece is None:
                assert outcome.passed, (number, answer, outcome)
            else:
                assert not outcome.passed and piece in outcome.message, (number, answer, outcome)


@pytest.mark.parametrize("name", LESSONS)
def test_every_listed_equivalent_has_a_reason(name):
    for number, listed in equivalent_mutants(name).items():
        for mutant_id, reason in listed.items():
            assert len(reason.split()) >= 4, (number, mutant_id)


def test_the_readme_lists_every_equivalent_mutant_with_its_reason():
    from ckpt_kit.mutants import README_BEGIN, README_END, equivalents
    from ckpt_kit.paths import KIT_DIR

    block = (KIT_DIR / "README.md").read_text(encoding="utf-8").split(README_BEGIN)[1]
    block = block.split(README_END)[0]
    listed = equivalents(LESSONS)
    assert listed in block
    for lesson in LESSONS:
        for number, listed_here in equivalent_mutants(lesson).items():
            for mutant, why in listed_here.items():
                assert f"{lesson[:2]} Exercise {number}: `{mutant}` — {why}" in listed
