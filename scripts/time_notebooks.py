"""Benchmark: how long each lesson takes to execute, and to check, on this machine.

    python scripts/time_notebooks.py [--repeat 3]

For each instructor notebook it times, as separate processes started the way a user starts them:
- execute: `jupyter execute notebooks/solutions/NN.ipynb` (kernel start, import torch, all cells);
- check: `python -m ckpt_helpers check notebooks/solutions/NN.ipynb` (a fully answered notebook:
  every exercise runs and is graded);
and prints the median of each and their ratio, after the floor: a notebook that only imports
torch. Goals (README): execute <= 11 s on 2 cores, check <= 1.5 x execute. (The whole test
suite's time: `python -m pytest --durations=0`.)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from ckpt_kit.paths import SOLUTIONS_DIR

SOLUTIONS = sorted(SOLUTIONS_DIR.glob("*.ipynb"))
JUPYTER = str(Path(sys.executable).with_name("jupyter"))


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {platform.system()}")
    print(f"{'notebook':<38} {'execute s':>9} {'check s':>8} {'check/execute':>14}")
    with tempfile.TemporaryDirectory() as tmp:  # the floor: kernel start + import torch, no work
        floor = Path(tmp) / "floor.ipynb"
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import torch")]),
                       floor)
        e = statistics.median(timed([JUPYTER, "execute", floor.name], floor.parent)
                              for _ in range(args.repeat))
        print(f"{'(floor: kernel + import torch)':<38} {e:>9.1f}")
    for path in SOLUTIONS:
        execute = [timed([JUPYTER, "execute", path.name], path.parent) for _ in range(args.repeat)]
        check = [timed([sys.executable, "-m", "ckpt_helpers", "check", path.name], path.parent)
                 for _ in range(args.repeat)]
        e, c = statistics.median(execute), statistics.median(check)
        print(f"{path.name:<38} {e:>9.1f} {c:>8.1f} {c / e:>14.2f}")


if __name__ == "__main__":
    main()
