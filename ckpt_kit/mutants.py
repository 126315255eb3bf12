"""Mutation testing of the exercise checks: does a check fail the slightly wrong solutions?

For every exercise, :func:`mutants` makes small changes to the reference solution, one at a
time, at the level of its syntax tree: delete a statement, drop a method call, a wrapping call
or a ``with`` block, flip or drop a keyword argument, turn ``<`` into ``<=``, add or take one
from a constant, return another local, swap two arguments, negate a condition. Each mutant is
graded by the exercise's real check cell (:mod:`ckpt_kit.prepared`: the lesson runs once, each
mutant in a fork). A mutant the check passes is either a hole in the check, or equivalent to the
solution; the equivalent ones are listed, each with the reason it is still correct, in the
lesson's check module as ``EQUIVALENT_MUTANTS``.

``python -m ckpt_helpers mutants [NN ...]`` runs the campaign and prints a table.
"""

from __future__ import annotations

import ast
import copy
import importlib
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ckpt_kit.exercises import find_exercises
from ckpt_kit.paths import SOLUTIONS_DIR
from ckpt_kit.prepared import Outcome

_COMPARE_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn,
    ast.NotIn: ast.In}
_BINOP_SWAPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.FloorDiv: ast.Mult}
# methods and builtins a slip of the mind puts in each other's place
_METHOD_SWAPS = {"values": "keys", "keys": "values", "items": "values", "eval": "train",
                 "train": "eval", "numel": "dim", "parameters": "buffers", "buffers": "parameters",
                 "get_state": "initial_seed", "unlink": "exists", "rename": "replace"}
_BUILTIN_SWAPS = {"min": "max", "max": "min", "any": "all", "all": "any", "sorted": "list",
                  "sum": "len", "float": "int", "int": "float"}


@dataclass(frozen=True)
class Mutant:
    """One small change to a solution: a readable id (``operator: before → after``) and the
    whole answer cell with the change in it."""

    id: str
    source: str


def _show(node: ast.AST | list[ast.stmt]) -> str:
    """A node as one short line of source."""
    text = ("; ".join(ast.unparse(n) for n in node) if isinstance(node, list)
            else ast.unparse(node))
    text = " ".join(text.split())
    return text if len(text) <= 70 else text[:67] + "..."


def _changes(node: ast.AST, parent: ast.AST | None) -> Iterator[tuple[str, object]]:
    """(operator name, replacement) for each mutation of ``node``; a list replaces a statement
    by several, ``None`` deletes it."""
    if isinstance(node, ast.stmt):
        yield "delete statement", None
    if isinstance(node, ast.With):
        yield "drop the with", node.body
    if isinstance(node, ast.If):
        yield "negate the condition", ast.If(ast.UnaryOp(ast.Not(), node.test), node.body,
                                             node.orelse)
        yield "always the body", node.body
        if node.orelse:
            yield "always the else", node.orelse
    if isinstance(node, ast.Return) and node.value is not None:
        yield "return None", ast.Return(ast.Constant(None))
    if isinstance(node, ast.Call):
        yield from _call_changes(node, parent)
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in _COMPARE_SWAPS:
                ops = list(node.ops)
                ops[i] = _COMPARE_SWAPS[type(op)]()
                yield "swap a comparison", ast.Compare(node.left, ops, node.comparators)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOP_SWAPS:
        yield "swap an operator", ast.BinOp(node.left, _BINOP_SWAPS[type(node.op)](), node.right)
    if isinstance(node, ast.AugAssign) and type(node.op) in _BINOP_SWAPS:
        yield "swap an operator", ast.AugAssign(node.target, _BINOP_SWAPS[type(node.op)](),
                                                node.value)
    if isinstance(node, ast.BoolOp):
        yield "and/or", ast.BoolOp(ast.Or() if isinstance(node.op, ast.And) else ast.And(),
                                   node.values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
        yield "drop the unary operator", node.operand
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool):
            yield "flip a constant", ast.Constant(not node.value)
        elif isinstance(node.value, (int, float)):
            yield "constant + 1", ast.Constant(node.value + 1)
            yield "constant - 1", ast.Constant(node.value - 1)


def _call_changes(node: ast.Call, parent: ast.AST | None) -> Iterator[tuple[str, object]]:
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr in _METHOD_SWAPS:
        swapped = ast.Attribute(func.value, _METHOD_SWAPS[func.attr], ast.Load())
        yield "call another method", ast.Call(swapped, node.args, node.keywords)
    if isinstance(func, ast.Name) and func.id in _BUILTIN_SWAPS:
        swapped = ast.Name(_BUILTIN_SWAPS[func.id], ast.Load())
        yield "call another builtin", ast.Call(swapped, node.args, node.keywords)
    if isinstance(node.func, ast.Attribute) and not isinstance(parent, ast.Expr):
        yield f"drop the call .{node.func.attr}()", node.func.value
    if len(node.args) == 1 and not node.keywords and not isinstance(parent, ast.Expr):
        yield "drop the wrapping call", node.args[0]
    for i, keyword in enumerate(node.keywords):
        rest = node.keywords[:i] + node.keywords[i + 1:]
        if keyword.arg is not None:
            yield f"drop {keyword.arg}=", ast.Call(node.func, node.args, rest)
        if isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, bool):
            flipped = ast.keyword(keyword.arg, ast.Constant(not keyword.value.value))
            yield f"flip {keyword.arg}=", ast.Call(node.func, node.args,
                                                   [*node.keywords[:i], flipped,
                                                    *node.keywords[i + 1:]])
    if len(node.args) >= 2:
        yield "drop the last argument", ast.Call(node.func, node.args[:-1], node.keywords)
    for i in range(len(node.args) - 1):
        args = list(node.args)
        args[i], args[i + 1] = args[i + 1], args[i]
        yield "swap two arguments", ast.Call(node.func, args, node.keywords)


def _locals_of(function: ast.FunctionDef) -> set[str]:
    names = {a.arg for a in function.args.args + function.args.kwonlyargs}
    names |= {n.id for n in ast.walk(function) if isinstance(n, ast.Name)
              and isinstance(n.ctx, ast.Store)}
    return names


def _return_other_locals(tree: ast.Module, node: ast.Return) -> Iterator[tuple[str, object]]:
    """``return x`` → ``return y`` for every other local ``y`` of the enclosing function."""
    if not isinstance(node.value, ast.Name):
        return
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef) and any(n is node for n in ast.walk(function)):
            for name in sorted(_locals_of(function) - {node.value.id}):
                yield "return another local", ast.Return(ast.Name(name, ast.Load()))


def _other_parameters(tree: ast.Module, node: ast.Name) -> Iterator[tuple[str, object]]:
    """A function's parameter ``x``, read somewhere in its body → each of its other parameters."""
    if not isinstance(node.ctx, ast.Load):
        return
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef):
            parameters = [a.arg for a in function.args.args + function.args.kwonlyargs]
            if node.id in parameters and any(n is node for n in ast.walk(function)):
                for other in parameters:
                    if other != node.id:
                        yield "use another parameter", ast.Name(other, ast.Load())
                return


def _script_changes(node: ast.Constant) -> Iterator[tuple[str, object]]:
    """A string that holds a whole script (several lines of Python): its own mutants."""
    if not (isinstance(node.value, str) and node.value.count("\n") >= 2):
        return
    try:
        inner = ast.parse(node.value)
    except SyntaxError:
        return
    if len(inner.body) < 2:
        return
    for mutant in mutants(node.value, (1, node.value.count("\n") + 1)):
        yield f"in the script, {mutant.id}", ast.Constant("\n" + mutant.source + "\n")


def _parents(tree: ast.AST) -> dict[int, tuple[ast.AST, str, int | None]]:
    """id(child) → (parent, field, index in the field's list or None)."""
    found: dict[int, tuple[ast.AST, str, int | None]] = {}
    for node in ast.walk(tree):
        for name, value in ast.iter_fields(node):
            if isinstance(value, list):
                for i, child in enumerate(value):
                    if isinstance(child, ast.AST):
                        found[id(child)] = (node, name, i)
            elif isinstance(value, ast.AST):
                found[id(value)] = (node, name, None)
    return found


def _replaced(tree: ast.Module, index: int, replacement: object) -> str | None:
    """The source of a copy of ``tree`` with its ``index``-th node (``ast.walk`` order)
    replaced; None if the result is not a valid program."""
    tree = copy.deepcopy(tree)
    target = list(ast.walk(tree))[index]
    parent, name, position = _parents(tree)[id(target)]
    replacement = copy.deepcopy(replacement)
    if position is None:
        if not isinstance(replacement, ast.AST):
            return None
        setattr(parent, name, replacement)
    else:
        body = getattr(parent, name)
        new = ([] if replacement is None else replacement if isinstance(replacement, list)
               else [replacement])
        body[position:position + 1] = new
        if not body and isinstance(target, ast.stmt):
            body.append(ast.Pass())
    try:
        source = ast.unparse(ast.fix_missing_locations(tree))
        compile(source, "<mutant>", "exec")
    except (SyntaxError, ValueError, TypeError):
        return None
    return source


def mutants(answer_source: str, region: tuple[int, int]) -> list[Mutant]:
    """Every mutant of the solution in an answer cell; ``region`` is the solution's first and
    last line (1-based). Only code inside the region changes.

    >>> for m in mutants("x = 1 < 2", (1, 1))[:3]: print(m.id)
    delete statement: x = 1 < 2 → pass
    swap a comparison: 1 < 2 → 1 <= 2
    constant + 1: 1 → 2
    """
    tree = ast.parse(answer_source)
    original = ast.unparse(tree)
    parents = _parents(tree)
    seen, found = {original}, []
    for index, node in enumerate(ast.walk(tree)):
        if not (hasattr(node, "lineno") and region[0] <= node.lineno
                and (node.end_lineno or node.lineno) <= region[1]):
            continue
        parent = parents.get(id(node), (None, "", None))[0]
        changes = list(_changes(node, parent))
        if isinstance(node, ast.Return):
            changes += list(_return_other_locals(tree, node))
        if isinstance(node, ast.Name):
            changes += list(_other_parameters(tree, node))
        if isinstance(node, ast.Constant):
            changes += list(_script_changes(node))
        for operator, replacement in changes:
            source = _replaced(tree, index, replacement)
            if source is None or source in seen:
                continue
            seen.add(source)
            after = "pass" if replacement is None else _show(replacement)  # type: ignore[arg-type]
            mutant_id = (operator if operator.startswith("in the script")
                         else f"{operator}: {_show(node)} → {after}")
            while mutant_id in {m.id for m in found}:
                mutant_id += " (again)"
            found.append(Mutant(mutant_id, source))
    return found


@dataclass
class ExerciseReport:
    """The campaign's figures for one exercise."""

    lesson: str
    number: int
    generated: int = 0
    killed: int = 0
    equivalent: list[str] = field(default_factory=list)
    surviving: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # listed as equivalent, but killed or gone

    @property
    def ok(self) -> bool:
        """No survivor, no stale entry, and enough mutants that are not equivalent."""
        return (not self.surviving and not self.stale
                and self.generated - len(self.equivalent) >= MIN_MUTANTS)


MIN_MUTANTS = 10  # non-equivalent mutants an exercise must have for its figure to mean much


def equivalent_mutants(name: str) -> dict[int, dict[str, str]]:
    """The reviewed list of equivalent mutants of a lesson: exercise → {mutant id: reason}."""
    try:
        module = importlib.import_module(f"ckpt_kit.checks.lesson{name[:2]}")
    except ModuleNotFoundError:
        return {}
    return getattr(module, "EQUIVALENT_MUTANTS", {})


def lesson_mutants(name: str) -> dict[int, list[Mutant]]:
    """Every mutant of every exercise of the lesson ``name``, by exercise number."""
    import nbformat

    from ckpt_kit.prepared import solution_region

    nb = nbformat.read(SOLUTIONS_DIR / name, as_version=4)
    cells = {cell.id: cell.source for cell in nb.cells}
    return {ex.number: mutants(cells[ex.answer_id], solution_region(cells[ex.answer_id]))
            for ex in find_exercises(nb)}


def classify(name: str, generated: dict[int, list[Mutant]],
             outcomes: dict[int, list[Outcome]]) -> list[ExerciseReport]:
    """The figures of each exercise, from its mutants' outcomes and the list of equivalents."""
    listed = equivalent_mutants(name)
    reports = []
    for number, found in generated.items():
        report, known = ExerciseReport(name, number, len(found)), listed.get(number, {})
        for mutant, outcome in zip(found, outcomes[number]):
            if outcome.passed:
                (report.equivalent if mutant.id in known else report.surviving).append(mutant.id)
            else:
                report.killed += 1
                if mutant.id in known:
                    report.stale.append(mutant.id)
        report.stale += sorted(set(known) - {m.id for m in found})
        reports.append(report)
    return reports


def lesson_campaign(name: str, timeout: float = 60) -> list[ExerciseReport]:
    """Generate and grade every mutant of every exercise of the lesson ``name``."""
    from ckpt_kit.prepared import grade_lesson

    generated = lesson_mutants(name)
    outcomes = grade_lesson(name, {n: [m.source for m in ms] for n, ms in generated.items()},
                            timeout)
    return classify(name, generated, outcomes)


def run_campaign(lessons: Sequence[str] = (), jobs: int = 2) -> list[ExerciseReport]:
    """The campaign over the lessons whose names start with ``lessons`` (all if empty), one
    fresh worker process per lesson, ``jobs`` at a time."""
    import os

    os.environ.setdefault("OMP_NUM_THREADS", "1")  # forks and many small runs: one thread each
    names = [p.name for p in sorted(SOLUTIONS_DIR.glob("*.ipynb"))
             if not lessons or p.name.startswith(tuple(lessons))]
    # a fresh process per lesson (spawned, not forked: each forks its own children)
    context = multiprocessing.get_context("spawn")

    def in_fresh_process(name: str) -> list[ExerciseReport]:
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            return pool.submit(lesson_campaign, name).result()

    with ThreadPoolExecutor(jobs) as threads:
        return [r for reports in threads.map(in_fresh_process, names) for r in reports]


def table(reports: Sequence[ExerciseReport]) -> str:
    """The campaign's figures as a Markdown table."""
    rows = ["| lesson | exercise | mutants | killed | equivalent | surviving |",
            "|---|---|---|---|---|---|"]
    rows += [f"| {r.lesson[:2]} | {r.number} | {r.generated} | {r.killed} | "
             f"{len(r.equivalent)} | {len(r.surviving)} |" for r in reports]
    total = [sum(getattr(r, f) for r in reports) for f in ("generated", "killed")]
    rows.append(f"| all | {len(reports)} | {total[0]} | {total[1]} | "
                f"{sum(len(r.equivalent) for r in reports)} | "
                f"{sum(len(r.surviving) for r in reports)} |")
    return "\n".join(rows)


def equivalents(lessons: Sequence[str]) -> str:
    """The listed equivalent mutants of ``lessons`` ("03" or "03_..."), each with the reason it
    is still a correct answer (``EQUIVALENT_MUTANTS`` of each ``ckpt_kit/checks/lessonNN.py``),
    as a Markdown list folded under a summary line."""
    lines = ["<details><summary>The equivalent mutants, and why each is still a correct answer "
             "(<code>EQUIVALENT_MUTANTS</code> in <code>ckpt_kit/checks/lessonNN.py</code>)"
             "</summary>", ""]
    for lesson in sorted({name[:2] for name in lessons}):
        for number, listed in sorted(equivalent_mutants(lesson).items()):
            lines += [f"- {lesson} Exercise {number}: `{mutant}` — {why}"
                      for mutant, why in listed.items()]
    return "\n".join([*lines, "", "</details>"])


README_BEGIN, README_END = "<!-- mutants:begin -->", "<!-- mutants:end -->"


def write_into_readme(readme: Path, text: str) -> None:
    """Replace what stands between the campaign's markers in ``readme`` by ``text``."""
    content = readme.read_text(encoding="utf-8")
    before, _, rest = content.partition(README_BEGIN)
    _, found, after = rest.partition(README_END)
    if not found:
        raise ValueError(f"{readme} has no {README_BEGIN} ... {README_END} markers")
    readme.write_text(f"{before}{README_BEGIN}\n{text}\n{README_END}{after}", encoding="utf-8")
