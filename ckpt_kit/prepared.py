"""Grade many answers to a lesson's exercises without re-running the lesson for each one.

The lesson's cells are the same for every answer. :func:`grade_lesson` runs them once, in an
IPython shell in this process and in a folder of its own; at each exercise it forks: every
answer runs in its own child process, from the state the lesson left, in its own copy of the
working folder, with a time limit; then its exercise's check cell runs there too. The child
reports a verdict and exits, so no answer changes what the next one sees. The parent then runs
the reference solution and its check, and goes on to the next exercise.

Verdicts match what ``python -m ckpt_helpers check`` says about the same answer: ``passed``
when the check cell prints what it prints for the reference solution and raises nothing.

Forking needs a POSIX system; the checker itself (nbval) does not.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ckpt_kit.exercises import SOLUTION_BEGIN, find_exercises
from ckpt_kit.paths import SOLUTIONS_DIR
from ckpt_kit.terminal import strip_ansi

if TYPE_CHECKING:  # only for type hints
    from IPython.core.interactiveshell import InteractiveShell

OUTPUT_LIMIT = 100_000  # characters of an answer's output kept; the rest is dropped


@dataclass(frozen=True)
class Outcome:
    """What became of one answer: ``passed``, ``wrong`` (a hint), ``error`` or ``timeout``."""

    verdict: str
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.verdict == "passed"


class _CappedText(io.StringIO):
    """A stdout that keeps the first OUTPUT_LIMIT characters and drops the rest."""

    def write(self, text: str) -> int:
        room = OUTPUT_LIMIT - self.tell()
        if room > 0:
            super().write(text[:room])
        return len(text)


def _shell() -> InteractiveShell:
    """An IPython shell like a kernel's, without its display machinery."""
    import matplotlib  # no windows: figures are drawn off screen, in this process only

    matplotlib.use("Agg")
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance(colors="nocolor")
    shell.showtraceback = lambda *args, **kwargs: None  # errors are read from the result
    return shell


def _run(shell: InteractiveShell, source: str) -> tuple[BaseException | None, str]:
    """Run a cell; its error (or None) and what it printed."""
    out = _CappedText()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        result = shell.run_cell(source, store_history=False)
    return result.error_before_exec or result.error_in_exec, out.getvalue()


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {strip_ansi(str(error))}".strip()


def _grade_here(shell: InteractiveShell, answer: str, check: str, expected: str) -> Outcome:
    """Run an answer and its check in this process; the verdict the checker would give."""
    error, _ = _run(shell, answer)
    if error is not None:
        return Outcome("error", f"your answer cell raised {_describe(error)}")
    error, printed = _run(shell, check)
    if isinstance(error, AssertionError):
        return Outcome("wrong", strip_ansi(str(error)))
    if error is not None:
        return Outcome("error", f"the check raised {_describe(error)}")
    if printed.strip() != expected.strip():
        return Outcome("wrong", f"the check printed {printed.strip()[:200]!r}, "
                                f"not {expected.strip()!r}")
    return Outcome("passed")


def fork_lines(job: Callable[[Callable[[list[Any]], None]], None],
                deadline_after: Callable[[list[Any]], float]) -> tuple[list[list[Any]], str]:
    """Run ``job(write)`` in a forked child that sends JSON lines; read them until it ends.

    After each line, the child has ``deadline_after(line)`` seconds to send the next one or
    it is killed. Returns the lines, and how the child ended ("" when it exited normally).
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        quiet = os.open(os.devnull, os.O_WRONLY)  # what C code prints goes nowhere
        os.dup2(quiet, 1)
        os.dup2(quiet, 2)

        def write(line: list[Any]) -> None:
            os.write(write_end, (json.dumps(line) + "\n").encode())

        with contextlib.suppress(BaseException):
            job(write)
        os._exit(0)
    os.close(write_end)
    lines: list[list[Any]] = []
    buffer, ended = b"", ""
    deadline = time.monotonic() + deadline_after([])
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                ended = "killed: it ran past its time limit and could not be interrupted"
                break
            if not select.select([pipe], [], [], left)[0]:
                continue
            chunk = pipe.read(1 << 16)
            if not chunk:
                break
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            for raw in complete:
                lines.append(json.loads(raw))
                deadline = time.monotonic() + deadline_after(lines[-1])
    _, status = os.waitpid(pid, 0)
    if not ended and (status != 0 or not lines):
        ended = f"the process died (wait status {status})"
    return lines, ended


def in_fork(job: Callable[[], Outcome], timeout: float) -> Outcome:
    """Run ``job`` in a forked child with a wall-clock limit; a dead child is an ``error``."""
    def send(write: Callable[[list[Any]], None]) -> None:
        try:
            outcome = job()
        except BaseException as error:  # noqa: BLE001 - reported to the parent
            outcome = Outcome("error", _describe(error))
        write([outcome.verdict, outcome.message])

    lines, ended = fork_lines(send, lambda line: timeout)
    if ended.startswith("killed"):
        return Outcome("timeout", f"did not finish within {timeout:g} s")
    if not lines:
        return Outcome("error", f"the process running the answer died ({ended})")
    return Outcome(*lines[0])


@contextlib.contextmanager
def _own_folder_copy() -> Iterator[None]:
    """In a child: work in a copy of the current folder, so the parent's files stay as they are."""
    original = Path.cwd()
    copy = Path(tempfile.mkdtemp(prefix="answer-")) / "work"
    shutil.copytree(original, copy, symlinks=True)
    os.chdir(copy)
    try:
        yield
    finally:
        os.chdir(original)
        shutil.rmtree(copy.parent, ignore_errors=True)


def _expected_output(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")


def grade_lesson(name: str, answers: dict[int, list[str]], timeout: float = 120,
                 solutions_dir: Path = SOLUTIONS_DIR) -> dict[int, list[Outcome]]:
    """Grade ``answers`` (exercise number → whole answer-cell sources) to the lesson ``name``.

    Runs the lesson once in a temporary folder; each answer in a fork from the state just
    before its exercise. Raises ``RuntimeError`` if a lesson cell or a reference solution fails.
    """
    import nbformat

    reference = nbformat.read(Path(solutions_dir) / name, as_version=4)
    exercises = {ex.answer_id: ex for ex in find_exercises(reference)}
    checks = {ex.check_id for ex in exercises.values()}
    cells = {cell.id: cell for cell in reference.cells}
    results: dict[int, list[Outcome]] = {}
    start = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="ckpt-prepared-") as tmp:
        os.chdir(tmp)
        try:
            shell = _shell()
            for cell in reference.cells:
                if cell.cell_type != "code" or cell.id in checks:
                    continue
                ex = exercises.get(cell.id)
                if ex is None:
                    error, _ = _run(shell, cell.source)
                    if error is not None:
                        raise RuntimeError(f"lesson cell {cell.id} of {name} raised "
                                           f"{_describe(error)}")
                    continue
                check, expected = cells[ex.check_id].source, _expected_output(cells[ex.check_id])
                results[ex.number] = [_grade_in_fork(shell, a, check, expected, timeout)
                                      for a in answers.get(ex.number, [])]
                outcome = _grade_here(shell, cell.source, check, expected)
                if not outcome.passed:
                    raise RuntimeError(f"the reference solution of Exercise {ex.number} of "
                                       f"{name} fails its check: {outcome.message}")
        finally:
            os.chdir(start)
    return results


def _grade_in_fork(shell: InteractiveShell, answer: str, check: str, expected: str,
                   timeout: float) -> Outcome:
    def job() -> Outcome:
        with _own_folder_copy():
            return _grade_here(shell, answer, check, expected)

    sys.stdout.flush()
    return in_fork(job, timeout)


def solution_region(source: str) -> tuple[int, int]:
    """The 1-based line numbers of an answer cell's solution (between the markers).

    >>> solution_region("x = 1\\n### BEGIN SOLUTION\\ny = 2\\n### END SOLUTION")
    (3, 3)
    """
    lines = [line.strip() for line in source.split("\n")]
    begin = lines.index(SOLUTION_BEGIN) + 1
    return begin + 1, lines.index("### END SOLUTION", begin)
